"""Two registered versions read from the store for a comparison, and the comparison run that
records it (tag ``run_kind=comparison``): the versions, their models and what their runs logged of
their training rows are read here, the metrics computed by
:func:`credit_models.workflows.comparison.compare_versions`, the page drawn by
:mod:`credit_models.reporting.comparison_report`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from credit_models.paths import PACKAGE_DIR
from credit_models.reporting.comparison_report import Section, comparison_figure, comparison_html
from credit_models.tracking.artifacts import log_figure
from credit_models.tracking.mlflow_tracking import code_version, flatten_params, use_experiment
from credit_models.tracking.model_loading import load_version
from credit_models.tracking.registry import (
    ModelReference,
    RegistryError,
    aliases,
    describe_version,
    recover_unfinished_changes,
    registry_state,
    require_finished_run,
    resolve,
    training_rows_of,
)
from credit_models.workflows.comparison import (
    CompareSettings,
    Comparison,
    ComparisonError,
    StoredVersion,
)
from credit_models.workflows.promotion import GateDecision


class NoChampionError(RegistryError):
    """The champion alias is not set: there is nothing to compare against yet."""


def no_champion(client: MlflowClient, name: str, alias: str, challenger: str) -> NoChampionError:
    return NoChampionError(
        f"no champion: registered model {name} has no alias {alias!r} "
        f"({registry_state(client, name)}); promote a first version with "
        f"credit-models-promote model_name={name} challenger={challenger} force=true"
    )


def stored_version(client: MlflowClient, version: ModelVersion, scratch: Path) -> StoredVersion:
    """A version as the store holds it: its model, its training run's tags and what the run
    logged of its rows (downloaded under ``scratch``)."""
    run_tags = client.get_run(version.run_id).data.tags if version.run_id else {}
    model = load_version(version)
    rows = training_rows_of(client, version, scratch / f"version_{version.version}")
    return StoredVersion(version.name, str(version.version), version.run_id, model,
                         dict(run_tags), rows)


def find_champion(client: MlflowClient, name: str, champion: str) -> ModelVersion | None:
    """The version the champion reference names; None when it is an alias that is not set."""
    reference = ModelReference.of(name, champion)
    if reference.alias is not None and reference.alias not in aliases(client, name):
        return None
    return resolve(client, reference)


def load_versions(client: MlflowClient, champion: ModelVersion, challenger: ModelVersion,
                  scratch: Path) -> tuple[StoredVersion, StoredVersion]:
    """The champion and the challenger as the store holds them; two different versions."""
    if champion.version == challenger.version:
        raise ComparisonError(
            f"champion and challenger are the same version ({describe_version(champion)})"
        )
    return stored_version(client, champion, scratch), stored_version(client, challenger, scratch)


def resolve_references(client: MlflowClient,
                       settings: CompareSettings) -> tuple[ModelVersion, ModelVersion]:
    """The settings' champion and challenger versions (alias or version number each), their
    training runs finished; :class:`NoChampionError` when the champion alias is not set yet. A
    promotion of the model left unfinished by a killed process is finished first."""
    recover_unfinished_changes(client, settings.model_name)
    name = settings.model_name
    challenger_version = resolve(client, ModelReference.of(name, settings.challenger))
    champion_version = find_champion(client, name, settings.champion)
    if champion_version is None:
        raise no_champion(client, name, settings.champion, "<version>")
    for version in (champion_version, challenger_version):
        require_finished_run(client, version)
    return champion_version, challenger_version


def comparison_tags(comparison: Comparison) -> dict[str, str]:
    tags = {"model_name": comparison.model_name, "data": comparison.rows.source[:5000]}
    for contender in (comparison.champion, comparison.challenger):
        tags[f"{contender.role}_version"] = contender.version
        tags[f"{contender.role}_run_id"] = str(contender.run_id)
        tags[f"{contender.role}_label"] = contender.run_tags.get("label", "")
    return tags


def log_comparison(comparison: Comparison, bins: int, extra_sections: list[Section] = (), *,
                   decision: GateDecision | None = None) -> None:
    """Into the active run: the table (CSV, HTML page, opening with the promotion ``decision``
    when there is one), AUC by month, the figure, the metrics."""
    figure = comparison_figure(comparison, bins)
    mlflow.set_tags(comparison_tags(comparison))
    mlflow.log_metrics(comparison.metrics())
    mlflow.log_text(comparison.table.to_csv(), "comparison/comparison_table.csv")
    if comparison.by_month is not None:
        mlflow.log_text(comparison.by_month.to_csv(index=False), "comparison/auc_by_month.csv")
    mlflow.log_text(comparison_html(comparison, figure, extra_sections, decision=decision),
                    "comparison/comparison.html")
    log_figure(figure, "plots/champion_vs_challenger.png")


@dataclass(frozen=True)
class ComparisonResult:
    """A comparison and the run that logged it (tag ``run_kind=comparison``)."""

    comparison: Comparison
    run_id: str


def log_comparison_run(settings: CompareSettings, comparison: Comparison) -> ComparisonResult:
    """The comparison run: the settings as its parameters, the comparison as its artifacts."""
    use_experiment(settings.mlflow.experiment_name)
    with mlflow.start_run(run_name=f"compare {settings.model_name} "
                                   f"v{comparison.champion.version} vs "
                                   f"v{comparison.challenger.version}") as run:
        mlflow.set_tags({"run_kind": "comparison", **code_version(PACKAGE_DIR)})
        mlflow.log_params(flatten_params(asdict(settings)))
        log_comparison(comparison, settings.bins)
    return ComparisonResult(comparison, run.info.run_id)

