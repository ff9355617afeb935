"""`credit-models-compare`: the champion against a challenger on the same out-of-time rows.

Both registered versions are loaded from the registry and score the same rows now: the metrics
are computed fresh, never copied from the training runs (whose test rows, data and code may
differ). By default the rows are the challenger run's test split (tag ``test_split``) of the
feature matrix it logged; ``data.path`` scores a feature matrix of your own. The PSI of each
model's PD is measured from the champion's own development rows (``reference_split``) to the
compared rows, so both models are read against the same reference population.

Prints the metrics side by side and logs a comparison run (tag ``run_kind=comparison``): the table
(CSV and HTML), AUC per month, metrics ``champion/oot_auc``, ``challenger/oot_auc``,
``delta/auc`` …, and one figure with the ROC and calibration curves of both. Exit code 0, or 2 when
there is nothing to compare (no champion yet, a bad reference, missing features, a version whose
training run did not finish). A promotion of the model left unfinished by a killed process is
finished first (see ``credit-models-promote``).
"""

from __future__ import annotations

import base64
import html
import io
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import mlflow
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.pyfunc import PyFuncModel
from mlflow.types import DataType
from omegaconf import DictConfig, OmegaConf
from sklearn.metrics import roc_curve

from credit_models.config.schema import ComparisonDataConfig, register_configs
from credit_models.errors import ConfigError
from credit_models.evaluation.metrics import (
    calibration_metrics,
    calibration_table,
    metrics_by_group,
    population_stability_index,
    ranking_metrics,
)
from credit_models.paths import PACKAGE_DIR
from credit_models.jobs.runner import job_entry
from credit_models.split.names import CALIBRATION, DEVELOPMENT, VALIDATION
from credit_models.tracking.mlflow_tracking import (
    code_version,
    flatten_params,
    resolve_tracking_uri,
)
from credit_models.tracking.registry import (
    CHALLENGER,
    CHAMPION,
    ModelReference,
    RegistryError,
    aliases,
    describe_version,
    model_uri,
    recover_unfinished_changes,
    registry_state,
    require_finished_run,
    resolve,
    training_feature_matrix,
)

matplotlib.use("Agg")
logger = logging.getLogger("credit_models.compare")

TABLE_METRICS = ("rows", "bads", "bad_rate", "mean_probability", "auc", "gini", "ks", "ece",
                 "brier", "log_loss", "psi_score", "rows_seen_in_training")
"""Rows of the comparison table, in order."""
HIGHER_IS_BETTER = {"auc": True, "gini": True, "ks": True, "ece": False, "brier": False,
                    "log_loss": False, "psi_score": False}
"""Metrics where one model can be better; the others describe the rows."""
DATA_METRICS = ("rows", "bads", "bad_rate")
"""The same for both models: logged once, as ``data/…``."""
UNCOMPARED = (*DATA_METRICS, "rows_seen_in_training")
"""Rows of the table without a delta."""
FITTING_SPLITS = (DEVELOPMENT, VALIDATION, CALIBRATION)
"""Rows a model was fitted, stopped or calibrated on: scoring them again flatters it."""
ROW_KEYS = ("customer_id", "as_of")
MONTH_COLUMN = "as_of"
ROLE_COLOURS = {CHAMPION: "#2f5d8a", CHALLENGER: "#c44e52"}


class ComparisonError(ValueError):
    """The rows cannot be scored by both models (missing features, no labels, one class)."""


class NoChampionError(RegistryError):
    """The champion alias is not set: there is nothing to compare against yet."""


@dataclass(frozen=True)
class Contender:
    """One side of the comparison: a registered version, its pyfunc and its training run's tags."""

    role: str
    version: ModelVersion
    model: PyFuncModel
    run_tags: Mapping[str, str]

    @property
    def title(self) -> str:
        return f"{self.role} (version {self.version.version})"

    def features(self) -> list[str]:
        """The input columns of the model's signature (empty when it has none)."""
        schema = self.model.metadata.get_input_schema()
        return [] if schema is None else list(schema.input_names())

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        scored = self.model.predict(signature_inputs(self.model, frame))
        return scored["probability_of_default"].to_numpy(dtype=float)


def signature_inputs(model: PyFuncModel, frame: pd.DataFrame) -> pd.DataFrame:
    """The signature's columns of ``frame`` in the types it declares: a feature matrix keeps
    integer counts as int64, which MLflow refuses for a ``double`` input; text stays text with
    missing values as None."""
    schema = model.metadata.get_input_schema()
    if schema is None:
        return frame
    columns = {}
    for spec in schema.inputs:
        values = frame[spec.name]
        if spec.type in (DataType.double, DataType.float):
            columns[spec.name] = pd.to_numeric(values, errors="raise").astype(
                "float64" if spec.type is DataType.double else "float32")
        elif spec.type is DataType.string:
            columns[spec.name] = values.astype("str").where(values.notna(), None).astype(object)
        else:
            columns[spec.name] = values
    return pd.DataFrame(columns, index=frame.index)


@dataclass(frozen=True)
class ComparedRows:
    """The labelled rows both models score and where they come from."""

    frame: pd.DataFrame
    source: str

    @property
    def is_bad(self) -> np.ndarray:
        return self.frame["is_bad"].to_numpy(dtype=bool)


@dataclass(frozen=True)
class Comparison:
    model_name: str
    champion: Contender
    challenger: Contender
    rows: ComparedRows
    probability: Mapping[str, np.ndarray]
    """role → PD of the compared rows."""
    table: pd.DataFrame
    """One row per metric (:data:`TABLE_METRICS`), columns champion, challenger, delta, better."""
    by_month: pd.DataFrame | None
    """AUC of both per snapshot month (None when the rows have no as_of)."""

    def metrics(self) -> dict[str, float]:
        """``champion/oot_auc``, ``challenger/oot_auc``, ``delta/auc`` …, ``data/rows`` …: the
        same names on every comparison run, so MLflow's compare view lines them up."""
        flat: dict[str, float] = {}
        for metric, row in self.table.iterrows():
            if metric in DATA_METRICS:
                flat[f"data/{metric}"] = float(row[CHAMPION])
                continue
            for role in (CHAMPION, CHALLENGER):
                if pd.notna(row[role]):
                    flat[f"{role}/oot_{metric}"] = float(row[role])
            if pd.notna(row["delta"]):
                flat[f"delta/{metric}"] = float(row["delta"])
        return flat

    def headline(self) -> str:
        return (
            f"{self.model_name}: {self.champion.title} against {self.challenger.title} on "
            f"{len(self.rows.frame):,} rows ({int(self.rows.is_bad.sum()):,} bads) of "
            f"{self.rows.source}"
        )


# ---------------------------------------------------------------------------------------------
# Metrics on plain arrays
# ---------------------------------------------------------------------------------------------


def model_metrics(
    is_bad: np.ndarray, probability: np.ndarray, reference_probability: np.ndarray, bins: int = 10
) -> dict[str, float]:
    """One model's row of the comparison: ranking, calibration and the PSI of its PD from the
    reference rows to these rows."""
    ranking = ranking_metrics(is_bad, probability)
    calibration = calibration_metrics(is_bad, probability, bins)
    return {
        "rows": float(len(is_bad)), "bads": float(np.sum(is_bad)),
        "bad_rate": float(np.mean(is_bad)), "mean_probability": calibration["mean_probability"],
        "auc": ranking["auc"], "gini": ranking["gini"], "ks": ranking["ks"],
        "ece": calibration["ece"], "brier": calibration["brier"],
        "log_loss": calibration["log_loss"],
        "psi_score": population_stability_index(reference_probability, probability, bins),
    }


def comparison_table(
    champion: Mapping[str, float], challenger: Mapping[str, float]
) -> pd.DataFrame:
    """Side by side, with ``delta`` = challenger − champion and which one is ``better``."""
    rows = []
    for metric in TABLE_METRICS:
        if metric not in champion and metric not in challenger:
            continue
        first, second = champion.get(metric, np.nan), challenger.get(metric, np.nan)
        delta = second - first
        if metric in HIGHER_IS_BETTER and np.isfinite(delta):
            better = ("tie" if delta == 0 else
                      CHALLENGER if (delta > 0) == HIGHER_IS_BETTER[metric] else CHAMPION)
        else:
            better = ""
        rows.append({"metric": metric, CHAMPION: first, CHALLENGER: second,
                     "delta": np.nan if metric in UNCOMPARED else delta, "better": better})
    return pd.DataFrame(rows).set_index("metric")


def auc_by_month(
    is_bad: np.ndarray, probability: Mapping[str, np.ndarray], as_of: pd.Series
) -> pd.DataFrame:
    """AUC of each model per snapshot month (NaN in a month with one class) and the delta."""
    months = pd.to_datetime(as_of).dt.strftime("%Y-%m").to_numpy()
    table = None
    for role, values in probability.items():
        monthly = metrics_by_group(is_bad, values, months).set_index("group")
        if table is None:
            table = monthly[["rows", "bads"]].copy()
        table[f"{role}_auc"] = monthly["auc"]
    assert table is not None
    table["delta_auc"] = table[f"{CHALLENGER}_auc"] - table[f"{CHAMPION}_auc"]
    table.index.name = "month"
    return table.reset_index()


# ---------------------------------------------------------------------------------------------
# Rows, models and the comparison
# ---------------------------------------------------------------------------------------------


def load_contender(client: MlflowClient, version: ModelVersion, role: str) -> Contender:
    run_tags = client.get_run(version.run_id).data.tags if version.run_id else {}
    model = mlflow.pyfunc.load_model(model_uri(version))
    return Contender(role, version, model, dict(run_tags))


def compared_rows(
    client: MlflowClient, challenger: Contender, data: ComparisonDataConfig
) -> ComparedRows:
    """The labelled rows to score: the challenger run's test split, or a Parquet file."""
    if data.path is None:
        frame = training_feature_matrix(client, challenger.version)
        split = data.split or challenger.run_tags.get("test_split")
        if split is None:
            raise ComparisonError(
                f"the run of {describe_version(challenger.version)} has no test_split tag; "
                "name the rows to compare with data.split=…"
            )
        source = f"the {split} split of {describe_version(challenger.version)}'s training run"
    else:
        path = Path(data.path)
        if not path.exists():
            raise ComparisonError(f"data.path {path} does not exist")
        frame = pd.read_parquet(path)
        split = data.split
        source = f"{path}" + (f" (split {split})" if split else "")
    if split is not None:
        if "split" not in frame.columns:
            raise ComparisonError(f"data.split={split} but {source} has no split column")
        available = sorted(frame["split"].dropna().astype(str).unique())
        frame = frame[frame["split"].astype(str) == split]
        if frame.empty:
            raise ComparisonError(f"{source}: no rows; splits present: {available}")
    if "is_bad" not in frame.columns:
        raise ComparisonError(f"{source} has no is_bad column: the rows must be labelled")
    unlabelled = int(frame["is_bad"].isna().sum())
    if unlabelled:
        logger.warning("%s: %d row(s) without a label left out", source, unlabelled)
        frame = frame[frame["is_bad"].notna()]
    bads = int(frame["is_bad"].astype(bool).sum())
    if bads == 0 or bads == len(frame):
        raise ComparisonError(
            f"{source}: {len(frame):,} labelled rows with {bads} bads; a comparison needs both "
            "goods and bads"
        )
    return ComparedRows(frame.reset_index(drop=True), source)


def check_features(frame: pd.DataFrame, contenders: list[Contender], where: str) -> None:
    """Every model's signature columns are in ``frame``; otherwise one error listing the missing
    features of each model."""
    problems = []
    for contender in contenders:
        missing = [name for name in contender.features() if name not in frame.columns]
        if missing:
            shown = ", ".join(missing[:20]) + (" …" if len(missing) > 20 else "")
            problems.append(f"{contender.title} of {contender.version.name} needs "
                            f"{len(missing)} feature(s) missing: {shown}")
    if problems:
        raise ComparisonError(f"{where} lack model features:\n  " + "\n  ".join(problems))


def rows_seen_in_training(rows: pd.DataFrame, training_matrix: pd.DataFrame) -> float:
    """How many compared rows (customer, as_of) a model was fitted, stopped or calibrated on;
    NaN when the rows carry no keys."""
    if not set(ROW_KEYS) <= set(rows.columns) or not set(ROW_KEYS) <= set(training_matrix.columns):
        return np.nan
    fitted = training_matrix.loc[training_matrix["split"].astype(str).isin(FITTING_SPLITS),
                                 list(ROW_KEYS)]
    keys = pd.MultiIndex.from_frame(rows[list(ROW_KEYS)])
    return float(keys.isin(pd.MultiIndex.from_frame(fitted)).sum())


def find_champion(client: MlflowClient, name: str, champion: str) -> ModelVersion | None:
    """The version the champion reference names; None when it is an alias that is not set."""
    reference = ModelReference.of(name, champion)
    if reference.alias is not None and reference.alias not in aliases(client, name):
        return None
    return resolve(client, reference)


def compare_versions(
    client: MlflowClient, champion_version: ModelVersion, challenger_version: ModelVersion,
    data: ComparisonDataConfig, *, reference_split: str = DEVELOPMENT, bins: int = 10,
) -> Comparison:
    """Score the same rows with both versions and put the metrics side by side."""
    if champion_version.version == challenger_version.version:
        raise ComparisonError(
            f"champion and challenger are the same version ({describe_version(champion_version)})"
        )
    champion = load_contender(client, champion_version, CHAMPION)
    challenger = load_contender(client, challenger_version, CHALLENGER)
    contenders = [champion, challenger]
    rows = compared_rows(client, challenger, data)
    check_features(rows.frame, contenders, f"the compared rows ({rows.source})")
    champion_matrix = training_feature_matrix(client, champion_version)
    reference = champion_matrix[champion_matrix["split"].astype(str) == reference_split] \
        if "split" in champion_matrix else champion_matrix.iloc[0:0]
    if reference.empty:
        raise ComparisonError(
            f"{describe_version(champion_version)}'s feature matrix has no {reference_split!r} rows "
            "to measure the PSI from (reference_split)"
        )
    check_features(reference, contenders,
                   f"the champion's {reference_split} rows (PSI reference)")
    challenger_matrix = (champion_matrix if champion_version.run_id == challenger_version.run_id
                         else training_feature_matrix(client, challenger_version))
    is_bad = rows.is_bad
    probability, per_model = {}, {}
    for contender, matrix in ((champion, champion_matrix), (challenger, challenger_matrix)):
        probability[contender.role] = contender.probability(rows.frame)
        per_model[contender.role] = {
            **model_metrics(is_bad, probability[contender.role],
                            contender.probability(reference), bins),
            "rows_seen_in_training": rows_seen_in_training(rows.frame, matrix),
        }
        seen = per_model[contender.role]["rows_seen_in_training"]
        if seen > 0:
            logger.warning("%s was fitted, stopped or calibrated on %d of the %d compared rows: "
                           "its metrics are optimistic", contender.title, int(seen), len(is_bad))
    table = comparison_table(per_model[CHAMPION], per_model[CHALLENGER])
    by_month = (auc_by_month(is_bad, probability, rows.frame[MONTH_COLUMN])
                if MONTH_COLUMN in rows.frame else None)
    return Comparison(champion_version.name, champion, challenger, rows, probability, table,
                      by_month)


def compare_references(
    client: MlflowClient, name: str, champion: str, challenger: str,
    data: ComparisonDataConfig, *, reference_split: str = DEVELOPMENT, bins: int = 10,
) -> Comparison:
    """:func:`compare_versions` of two references of ``name`` (alias or version number each);
    :class:`NoChampionError` when the champion alias is not set yet."""
    challenger_version = resolve(client, ModelReference.of(name, challenger))
    champion_version = find_champion(client, name, champion)
    if champion_version is None:
        raise NoChampionError(
            f"no champion: registered model {name} has no alias {champion!r} "
            f"({registry_state(client, name)}); promote a first version with "
            f"credit-models-promote model_name={name} challenger=<version> force=true"
        )
    for version in (champion_version, challenger_version):
        require_finished_run(client, version)
    return compare_versions(client, champion_version, challenger_version, data,
                            reference_split=reference_split, bins=bins)


# ---------------------------------------------------------------------------------------------
# What the comparison shows: text, figure, HTML, MLflow run
# ---------------------------------------------------------------------------------------------


def formatted_table(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison table as text: counts whole, metrics to 4 decimals, deltas signed."""
    shown = table.copy()
    for column in (CHAMPION, CHALLENGER, "delta"):
        shown[column] = [
            "" if pd.isna(value) else
            f"{value:,.0f}" if metric in ("rows", "bads", "rows_seen_in_training") else
            f"{value:+.4f}" if column == "delta" else f"{value:.4f}"
            for metric, value in zip(shown.index, shown[column], strict=True)
        ]
    return shown


def comparison_figure(comparison: Comparison, bins: int = 10) -> Figure:
    """ROC (left) and reliability curves (right) of both models on the compared rows."""
    figure = Figure(figsize=(11, 5))
    roc_axes, calibration_axes = figure.subplots(1, 2)
    is_bad = comparison.rows.is_bad
    top = 0.0
    for contender in (comparison.champion, comparison.challenger):
        probability = comparison.probability[contender.role]
        colour = ROLE_COLOURS[contender.role]
        false_positive, true_positive, _ = roc_curve(is_bad, probability)
        auc = comparison.table.loc["auc", contender.role]
        roc_axes.plot(false_positive, true_positive, color=colour,
                      label=f"{contender.title}, AUC {auc:.3f}")
        table = calibration_table(is_bad, probability, bins)
        calibration_axes.plot(table["mean_probability"], table["bad_rate"], marker="o",
                              markersize=4, color=colour,
                              label=f"{contender.title}, ECE "
                                    f"{comparison.table.loc['ece', contender.role]:.4f}")
        top = max(top, float(table["mean_probability"].max()), float(table["bad_rate"].max()))
    roc_axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    roc_axes.set_xlabel("false positive rate (goods declined)")
    roc_axes.set_ylabel("true positive rate (bads declined)")
    roc_axes.legend(loc="lower right", fontsize=8)
    roc_axes.set_title("ROC (bad = positive class)")
    top = min(1.0, top * 1.08) if top > 0 else 1.0
    calibration_axes.plot([0, top], [0, top], linestyle=":", color="grey",
                          label="perfect calibration")
    calibration_axes.set_xlim(0, top)
    calibration_axes.set_ylim(0, top)
    calibration_axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    calibration_axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    calibration_axes.set_xlabel(f"mean predicted PD ({bins} equal-frequency bins)")
    calibration_axes.set_ylabel("observed bad rate")
    calibration_axes.legend(loc="upper left", fontsize=8)
    calibration_axes.set_title("Calibration (reliability)")
    figure.suptitle(f"{comparison.model_name}: champion against challenger, "
                    f"{len(is_bad):,} rows", fontsize=11)
    figure.tight_layout()
    return figure


def _figure_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def comparison_html(
    comparison: Comparison, figure: Figure, extra_sections: list[tuple[str, str, str]] = ()
) -> str:
    """One self-contained page: the headline, the table, AUC by month, the figure, and any extra
    (title, one-line description, HTML) sections."""
    image = base64.b64encode(_figure_png(figure)).decode()
    sections = [
        ("Metrics side by side",
         ("Both versions scored now on the same rows; delta = challenger − champion; PSI of the "
          "PD from the champion's development rows."),
         formatted_table(comparison.table).to_html()),
    ]
    if comparison.by_month is not None:
        sections.append(("AUC by snapshot month", "Ranking month by month on the compared rows.",
                         comparison.by_month.to_html(index=False, na_rep="",
                                                     float_format=lambda v: f"{v:.4f}")))
    sections.extend(extra_sections)
    sections.append(("ROC and calibration", "Both models on one figure.",
                     f'<img alt="ROC and calibration" src="data:image/png;base64,{image}">'))
    body = "\n".join(f"<h2>{html.escape(title)}</h2>\n<p>{html.escape(text)}</p>\n{content}"
                     for title, text, content in sections)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(comparison.model_name)}: champion and challenger</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style></head><body>\n"
        f"<h1>{html.escape(comparison.headline())}</h1>\n{body}\n</body></html>\n"
    )


def comparison_tags(comparison: Comparison) -> dict[str, str]:
    tags = {"model_name": comparison.model_name, "data": comparison.rows.source[:5000]}
    for contender in (comparison.champion, comparison.challenger):
        tags[f"{contender.role}_version"] = str(contender.version.version)
        tags[f"{contender.role}_run_id"] = str(contender.version.run_id)
        tags[f"{contender.role}_label"] = contender.run_tags.get("label", "")
    return tags


def log_comparison(
    comparison: Comparison, bins: int, extra_sections: list[tuple[str, str, str]] = ()
) -> None:
    """Into the active run: the table (CSV, HTML page), AUC by month, the figure, the metrics."""
    figure = comparison_figure(comparison, bins)
    mlflow.set_tags(comparison_tags(comparison))
    mlflow.log_metrics(comparison.metrics())
    mlflow.log_text(comparison.table.to_csv(), "comparison/comparison_table.csv")
    if comparison.by_month is not None:
        mlflow.log_text(comparison.by_month.to_csv(index=False), "comparison/auc_by_month.csv")
    mlflow.log_text(comparison_html(comparison, figure, extra_sections),
                    "comparison/comparison.html")
    mlflow.log_figure(figure, "plots/champion_vs_challenger.png")


def run_parameters(cfg: DictConfig) -> dict[str, str]:
    return flatten_params(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))


def connect(cfg: DictConfig) -> MlflowClient:
    """Tracking and registry of ``cfg.mlflow`` (a relative sqlite path from the working dir)."""
    tracking_uri = resolve_tracking_uri(cfg.mlflow.tracking_uri, Path.cwd())
    mlflow.set_tracking_uri(tracking_uri)     # the registry follows it (models:/ URIs too)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def data_settings(cfg: DictConfig) -> ComparisonDataConfig:
    return ComparisonDataConfig(path=cfg.data.path, split=cfg.data.split)


def check_bins(bins: Any) -> int:
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise ConfigError(f"bins must be an integer ≥ 2; got {bins!r}")
    return bins


@dataclass(frozen=True)
class ComparisonResult:
    comparison: Comparison
    run_id: str


def run_comparison(cfg: DictConfig) -> ComparisonResult:
    """The whole job: compare, print nothing, log the comparison run."""
    bins = check_bins(cfg.bins)
    client = connect(cfg)
    recover_unfinished_changes(client, cfg.model_name)   # a promotion killed half-way is undone
    comparison = compare_references(
        client, cfg.model_name, cfg.champion, cfg.challenger, data_settings(cfg),
        reference_split=cfg.reference_split, bins=bins,
    )
    mlflow.set_experiment(cfg.mlflow.experiment_name)
    with mlflow.start_run(run_name=f"compare {cfg.model_name} "
                                   f"v{comparison.champion.version.version} vs "
                                   f"v{comparison.challenger.version.version}") as run:
        mlflow.set_tags({"run_kind": "comparison", **code_version(PACKAGE_DIR)})
        mlflow.log_params(run_parameters(cfg))
        log_comparison(comparison, bins)
    return ComparisonResult(comparison, run.info.run_id)


def comparison_report(comparison: Comparison) -> str:
    """What the console shows: the headline, the table and AUC by month."""
    parts = ["", comparison.headline(), "", formatted_table(comparison.table).to_string()]
    seen = comparison.table.loc["rows_seen_in_training", [CHAMPION, CHALLENGER]]
    for role, value in seen.items():
        if pd.notna(value) and value > 0:
            parts.append(f"warning: the {role} was fitted on {int(value):,} of these rows; its "
                         "metrics are optimistic")
    if comparison.by_month is not None:
        parts += ["", "AUC by month:",
                  comparison.by_month.to_string(index=False, float_format=lambda v: f"{v:.4f}")]
    return "\n".join(parts)


def compare(cfg: DictConfig) -> int:
    """Run the comparison and print it; returns the exit code (0; a reference that does not
    resolve raises, and the job runner prints it and exits 2)."""
    result = run_comparison(cfg)
    print(comparison_report(result.comparison))
    print(f"\ncomparison run {result.run_id} (experiment {cfg.mlflow.experiment_name})")
    return 0


register_configs()


@job_entry("compare", usage_errors=(ComparisonError,))
def main(cfg: DictConfig) -> None:
    code = compare(cfg)
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
