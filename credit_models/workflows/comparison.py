"""The champion against a challenger on the same labelled rows: both score them now, and their
metrics, the AUC per month and the rows either was fitted on are put side by side.

Plain pandas and numpy: the models come in loaded (:class:`~credit_models.workflows.scoring.
ScoringModel`), the rows and training matrices as frames; the store is read by
:mod:`credit_models.tracking.comparison_run`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from credit_models.errors import ConfigError, RegistryError
from credit_models.evaluation.metrics import (
    calibration_metrics,
    metrics_by_group,
    population_stability_index,
    ranking_metrics,
)
from credit_models.split.names import CALIBRATION, DEVELOPMENT, VALIDATION
from credit_models.workflows.scoring import ScoringModel, predict_frame
from credit_models.workflows.training_rows import (
    LoggedTrainingRows,
    TrainingRowsError,
    training_rows_file,
)

logger = logging.getLogger("credit_models.compare")

CHAMPION, CHALLENGER = "champion", "challenger"
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


class ComparisonError(ValueError):
    """The rows cannot be scored by both models (missing features, no labels, one class)."""


@dataclass(frozen=True)
class ComparisonData:
    """The rows both models score: a training run's feature matrix or a Parquet file of one."""

    path: str | None = None
    """A feature matrix (Parquet: the features, is_bad, optionally customer_id, as_of, split);
    null = the feature matrix the challenger's training run logged."""
    split: str | None = None
    """Only the rows of this split; null = the challenger run's test split (tag ``test_split``)
    for its own matrix, every row of ``path``."""


@dataclass(frozen=True)
class RegistryStoreSettings:
    tracking_uri: str = "sqlite:///mlflow.db"
    """The store that holds the registry; a relative sqlite path is resolved against the working
    directory."""
    experiment_name: str = "credit_models_registry"
    """Where comparison and promotion runs are logged."""
    telemetry: bool = False
    """Let MLflow send its anonymous usage telemetry (off unless opted in)."""


@dataclass(frozen=True)
class CompareSettings:
    """``credit-models-compare``'s settings and Hydra schema (``conf/compare.yaml``)."""

    model_name: str = "pd_xgb"
    champion: str = "champion"
    """Alias (or version number) of the model in use."""
    challenger: str = "challenger"
    """Alias or version number of the candidate."""
    data: ComparisonData = field(default_factory=ComparisonData)
    reference_split: str = DEVELOPMENT
    """PSI of each model's PD from the champion's rows of this split to the compared rows."""
    bins: int = 10
    """Bins of the PSI and of the expected calibration error."""
    mlflow: RegistryStoreSettings = field(default_factory=RegistryStoreSettings)

    def __post_init__(self) -> None:
        check_bins(self.bins)


def check_bins(bins: Any) -> int:
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise ConfigError(f"bins must be an integer ≥ 2; got {bins!r}")
    return bins


@dataclass(frozen=True)
class Contender:
    """One side of the comparison: a registered version, its loaded model and its training run's
    tags."""

    role: str
    model_name: str
    version: str
    run_id: str | None
    model: ScoringModel
    run_tags: Mapping[str, str]

    @property
    def title(self) -> str:
        return f"{self.role} (version {self.version})"

    def features(self) -> list[str]:
        """The input columns of the model's signature (empty when it has none)."""
        return [] if self.model.input_types is None else list(self.model.input_types)

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        scored = predict_frame(self.model, frame)
        return scored["probability_of_default"].to_numpy(dtype=float)


@dataclass(frozen=True)
class StoredVersion:
    """A registered version as the store holds it: its loaded model, its training run's tags and
    what the run logged of its rows; the comparison gives it its role."""

    model_name: str
    version: str
    run_id: str | None
    model: ScoringModel
    run_tags: Mapping[str, str]
    training_rows: LoggedTrainingRows

    @property
    def label(self) -> str:
        return f"{self.model_name} version {self.version}"

    def contender(self, role: str) -> Contender:
        return Contender(role, self.model_name, self.version, self.run_id, self.model,
                         dict(self.run_tags))

    def training_matrix(self) -> pd.DataFrame:
        """The rows the version was developed on: the matrix its run logged, else the one rebuilt
        from the run's matrix reference."""
        try:
            return pd.read_parquet(training_rows_file(self.training_rows))
        except TrainingRowsError as error:
            raise RegistryError(f"{self.label}: {error}") from error


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
# Rows and the comparison
# ---------------------------------------------------------------------------------------------


def read_rows_file(path: str, split: str | None) -> tuple[pd.DataFrame, str]:
    """A feature matrix of your own (``data.path``) and how the comparison names it."""
    file = Path(path)
    if not file.exists():
        raise ComparisonError(f"data.path {file} does not exist")
    return pd.read_parquet(file), f"{file}" + (f" (split {split})" if split else "")


def labelled_rows(frame: pd.DataFrame, source: str, split: str | None) -> ComparedRows:
    """The rows of ``split`` (all when None) with a label; both classes must be there."""
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
            problems.append(f"{contender.title} of {contender.model_name} needs "
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


def reference_rows(matrix: pd.DataFrame, split: str, owner: str) -> pd.DataFrame:
    """The champion's ``split`` rows the PSI of each model's PD is measured from."""
    reference = matrix[matrix["split"].astype(str) == split] if "split" in matrix \
        else matrix.iloc[0:0]
    if reference.empty:
        raise ComparisonError(
            f"{owner}'s feature matrix has no {split!r} rows to measure the PSI from "
            "(reference_split)"
        )
    return reference


def compare_contenders(
    champion: Contender, challenger: Contender, rows: ComparedRows,
    training_matrices: Mapping[str, pd.DataFrame], *, reference_split: str = DEVELOPMENT,
    bins: int = 10,
) -> Comparison:
    """Score the same rows with both models and put the metrics side by side. Each model's PSI
    is measured from the champion's ``reference_split`` rows, and the rows each was fitted on
    are counted, in ``training_matrices`` (role → its training run's feature matrix)."""
    contenders = [champion, challenger]
    check_features(rows.frame, contenders, f"the compared rows ({rows.source})")
    reference = reference_rows(training_matrices[CHAMPION], reference_split,
                               f"{champion.model_name} version {champion.version}")
    check_features(reference, contenders,
                   f"the champion's {reference_split} rows (PSI reference)")
    is_bad = rows.is_bad
    probability, per_model = {}, {}
    for contender in contenders:
        probability[contender.role] = contender.probability(rows.frame)
        per_model[contender.role] = {
            **model_metrics(is_bad, probability[contender.role],
                            contender.probability(reference), bins),
            "rows_seen_in_training": rows_seen_in_training(
                rows.frame, training_matrices[contender.role]),
        }
        seen = per_model[contender.role]["rows_seen_in_training"]
        if seen > 0:
            logger.warning("%s was fitted, stopped or calibrated on %d of the %d compared rows: "
                           "its metrics are optimistic", contender.title, int(seen), len(is_bad))
    table = comparison_table(per_model[CHAMPION], per_model[CHALLENGER])
    by_month = (auc_by_month(is_bad, probability, rows.frame[MONTH_COLUMN])
                if MONTH_COLUMN in rows.frame else None)
    return Comparison(champion.model_name, champion, challenger, rows, probability, table,
                      by_month)


def compared_rows(challenger: StoredVersion, challenger_matrix: pd.DataFrame,
                  settings: CompareSettings) -> ComparedRows:
    """The labelled rows to score: the challenger run's test split, or a Parquet file."""
    if settings.data.path is None:
        split = settings.data.split or challenger.run_tags.get("test_split")
        if split is None:
            raise ComparisonError(
                f"the run of {challenger.label} has no test_split tag; "
                "name the rows to compare with data.split=…"
            )
        frame = challenger_matrix
        source = f"the {split} split of {challenger.label}'s training run"
    else:
        split = settings.data.split
        frame, source = read_rows_file(settings.data.path, split)
    return labelled_rows(frame, source, split)


def compare_versions(champion: StoredVersion, challenger: StoredVersion,
                     settings: CompareSettings) -> Comparison:
    """Score the same rows with both versions and put the metrics side by side."""
    challenger_matrix = challenger.training_matrix()
    rows = compared_rows(challenger, challenger_matrix, settings)
    champion_matrix = (challenger_matrix if champion.run_id == challenger.run_id
                       else champion.training_matrix())
    return compare_contenders(
        champion.contender(CHAMPION), challenger.contender(CHALLENGER), rows,
        {CHAMPION: champion_matrix, CHALLENGER: challenger_matrix},
        reference_split=settings.reference_split, bins=settings.bins,
    )
