"""The comparison of two registered versions from the store, and the comparison run that records
it (tag ``run_kind=comparison``): the versions and their training rows are read here, the
metrics computed by :mod:`credit_models.workflows.comparison`, the page drawn by
:mod:`credit_models.reporting.comparison_report`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from credit_models.paths import PACKAGE_DIR
from credit_models.reporting.comparison_report import Section, comparison_figure, comparison_html
from credit_models.tracking.artifacts import log_figure
from credit_models.tracking.mlflow_tracking import code_version, flatten_params
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
    training_feature_matrix,
)
from credit_models.workflows.comparison import (
    CHALLENGER,
    CHAMPION,
    ComparedRows,
    CompareSettings,
    Comparison,
    ComparisonError,
    Contender,
    compare_contenders,
    labelled_rows,
    read_rows_file,
)


class NoChampionError(RegistryError):
    """The champion alias is not set: there is nothing to compare against yet."""


def no_champion(client: MlflowClient, name: str, alias: str, challenger: str) -> NoChampionError:
    return NoChampionError(
        f"no champion: registered model {name} has no alias {alias!r} "
        f"({registry_state(client, name)}); promote a first version with "
        f"credit-models-promote model_name={name} challenger={challenger} force=true"
    )


def load_contender(client: MlflowClient, version: ModelVersion, role: str) -> Contender:
    """A version as one side of the comparison: its model and its training run's tags."""
    run_tags = client.get_run(version.run_id).data.tags if version.run_id else {}
    return Contender(role, version.name, str(version.version), version.run_id,
                     load_version(version), dict(run_tags))


def find_champion(client: MlflowClient, name: str, champion: str) -> ModelVersion | None:
    """The version the champion reference names; None when it is an alias that is not set."""
    reference = ModelReference.of(name, champion)
    if reference.alias is not None and reference.alias not in aliases(client, name):
        return None
    return resolve(client, reference)


def compared_rows(challenger: ModelVersion, challenger_tags: Mapping[str, str],
                  challenger_matrix: pd.DataFrame | None,
                  settings: CompareSettings) -> ComparedRows:
    """The labelled rows to score: the challenger run's test split, or a Parquet file."""
    if settings.data.path is None:
        split = settings.data.split or challenger_tags.get("test_split")
        if split is None:
            raise ComparisonError(
                f"the run of {describe_version(challenger)} has no test_split tag; "
                "name the rows to compare with data.split=…"
            )
        frame = challenger_matrix
        source = f"the {split} split of {describe_version(challenger)}'s training run"
    else:
        split = settings.data.split
        frame, source = read_rows_file(settings.data.path, split)
    return labelled_rows(frame, source, split)


def compare_versions(
    client: MlflowClient, champion_version: ModelVersion, challenger_version: ModelVersion,
    settings: CompareSettings,
) -> Comparison:
    """Score the same rows with both versions and put the metrics side by side."""
    if champion_version.version == challenger_version.version:
        raise ComparisonError(
            f"champion and challenger are the same version ({describe_version(champion_version)})"
        )
    champion = load_contender(client, champion_version, CHAMPION)
    challenger = load_contender(client, challenger_version, CHALLENGER)
    challenger_matrix = training_feature_matrix(client, challenger_version)
    rows = compared_rows(challenger_version, challenger.run_tags, challenger_matrix, settings)
    champion_matrix = (challenger_matrix if champion_version.run_id == challenger_version.run_id
                       else training_feature_matrix(client, champion_version))
    return compare_contenders(
        champion, challenger, rows, {CHAMPION: champion_matrix, CHALLENGER: challenger_matrix},
        reference_split=settings.reference_split, bins=settings.bins,
    )


def compare_references(client: MlflowClient, settings: CompareSettings) -> Comparison:
    """:func:`compare_versions` of the settings' two references (alias or version number each);
    :class:`NoChampionError` when the champion alias is not set yet."""
    name = settings.model_name
    challenger_version = resolve(client, ModelReference.of(name, settings.challenger))
    champion_version = find_champion(client, name, settings.champion)
    if champion_version is None:
        raise no_champion(client, name, settings.champion, "<version>")
    for version in (champion_version, challenger_version):
        require_finished_run(client, version)
    return compare_versions(client, champion_version, challenger_version, settings)


def comparison_tags(comparison: Comparison) -> dict[str, str]:
    tags = {"model_name": comparison.model_name, "data": comparison.rows.source[:5000]}
    for contender in (comparison.champion, comparison.challenger):
        tags[f"{contender.role}_version"] = contender.version
        tags[f"{contender.role}_run_id"] = str(contender.run_id)
        tags[f"{contender.role}_label"] = contender.run_tags.get("label", "")
    return tags


def log_comparison(comparison: Comparison, bins: int, extra_sections: list[Section] = ()) -> None:
    """Into the active run: the table (CSV, HTML page), AUC by month, the figure, the metrics."""
    figure = comparison_figure(comparison, bins)
    mlflow.set_tags(comparison_tags(comparison))
    mlflow.log_metrics(comparison.metrics())
    mlflow.log_text(comparison.table.to_csv(), "comparison/comparison_table.csv")
    if comparison.by_month is not None:
        mlflow.log_text(comparison.by_month.to_csv(index=False), "comparison/auc_by_month.csv")
    mlflow.log_text(comparison_html(comparison, figure, extra_sections),
                    "comparison/comparison.html")
    log_figure(figure, "plots/champion_vs_challenger.png")


@dataclass(frozen=True)
class ComparisonResult:
    comparison: Comparison
    run_id: str


def run_comparison(client: MlflowClient, settings: CompareSettings) -> ComparisonResult:
    """Compare and log the comparison run (the settings as its parameters). A promotion of the model left unfinished by a killed process is finished
    first."""
    recover_unfinished_changes(client, settings.model_name)
    comparison = compare_references(client, settings)
    mlflow.set_experiment(settings.mlflow.experiment_name)
    with mlflow.start_run(run_name=f"compare {settings.model_name} "
                                   f"v{comparison.champion.version} vs "
                                   f"v{comparison.challenger.version}") as run:
        mlflow.set_tags({"run_kind": "comparison", **code_version(PACKAGE_DIR)})
        mlflow.log_params(flatten_params(asdict(settings)))
        log_comparison(comparison, settings.bins)
    return ComparisonResult(comparison, run.info.run_id)
