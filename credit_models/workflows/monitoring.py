"""Monitoring a batch against the model's training rows: read both, score both, measure.

The training rows are the training run's own feature matrix (rows of ``reference_split``), so the
batch is compared with exactly what the model was developed on; the store hands over what the run
logged of them (:mod:`credit_models.tracking.monitoring_run`). The measurements are plain functions in
:mod:`credit_models.evaluation.monitoring`; this module reads and scores.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from credit_models.errors import ConfigError
from credit_models.evaluation.monitoring import (
    MonitoringResult,
    MonitoringThresholds,
    monitor_batch,
)
from credit_models.workflows.scoring import (
    ScoringModel,
    conform_inputs,
    parquet_files,
    required_input_types,
)
from credit_models.workflows.training_rows import (
    LoggedTrainingRows,
    TrainingRowsError,
    training_rows_file,
)

logger = logging.getLogger("credit_models.monitor")

SPLIT_COLUMN = "split"


class MonitoringExit(IntEnum):
    """Exit status of `credit-models-monitor`."""

    ok = 0
    alert = 3
    """A check crossed its threshold."""


ALERT_EXIT_CODE = MonitoringExit.alert.value


class MonitoringInputError(ValueError):
    """The batch or the training reference cannot be monitored; the message says what is
    missing."""


@dataclass(frozen=True)
class MonitoringSettings(MonitoringThresholds):
    """``conf/monitoring/*.yaml``: the thresholds, the training split the batch is compared with,
    and how many features the plots show."""

    reference_split: str = "dev"
    """The training run's split the batch is compared with (its feature matrix's rows)."""
    top_features: int = 20
    """Features shown in the CSI and missing-rate plots."""

    def __post_init__(self) -> None:
        try:
            super().__post_init__()
        except ValueError as error:
            raise ConfigError(f"monitoring.{error}") from None
        if isinstance(self.top_features, bool) or not isinstance(self.top_features, int) \
                or self.top_features < 1:
            raise ConfigError(f"monitoring.top_features must be an integer >= 1; got "
                              f"{self.top_features!r}")


@dataclass(frozen=True)
class MonitoringStoreSettings:
    tracking_uri: str = "sqlite:///mlflow.db"
    experiment_name: str = "credit_models_monitoring"
    log_run: bool = True
    """Log the checks, report and plots to a monitoring run (tag run_kind=monitoring)."""
    telemetry: bool = False
    """Let MLflow send its anonymous usage telemetry (off unless opted in)."""


@dataclass(frozen=True)
class MonitorSettings:
    """``credit-models-monitor``'s settings and Hydra schema (``conf/monitor.yaml``)."""

    model_uri: str = "models:/pd_xgb@champion"
    input: str = "???"
    """The new batch: a feature-matrix Parquet file or folder (features, as_of; is_bad optional)."""
    output_dir: str = "???"
    label_column: str = "is_bad"
    month_column: str = "as_of"
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    mlflow: MonitoringStoreSettings = field(default_factory=MonitoringStoreSettings)

    def parameters(self) -> dict[str, Any]:
        """What the monitoring run logs as its parameters."""
        return {"model_uri": self.model_uri, "input": self.input,
                "monitoring": asdict(self.monitoring)}


def read_reference(path: Path, features: list[str], split: str, origin: str) -> pd.DataFrame:
    """The rows of ``split`` of a training feature matrix (``origin`` names it in errors), model
    features only."""
    names = pq.read_schema(path).names
    absent = [name for name in [*features, SPLIT_COLUMN] if name not in names]
    if absent:
        raise MonitoringInputError(f"the training rows of {origin} lack column(s) {absent[:10]}")
    reference = pq.read_table(path, columns=features, filters=[(SPLIT_COLUMN, "=", split)])
    if reference.num_rows == 0:
        splits = pq.read_table(path, columns=[SPLIT_COLUMN]).column(0).unique().to_pylist()
        raise MonitoringInputError(
            f"the training rows of {origin} have no rows of split {split!r}; their "
            f"splits: {sorted(map(str, splits))}"
        )
    return reference.to_pandas()


def read_batch(path: Path, features: list[str], label_column: str,
               month_column: str) -> pd.DataFrame:
    """The batch's model features, and its label and month columns when present."""
    files = parquet_files(path)
    names = set(pq.read_schema(files[0]).names)
    for file in files[1:]:
        names &= set(pq.read_schema(file).names)
    absent = [name for name in features if name not in names]
    if absent:
        raise MonitoringInputError(
            f"the batch {path} lacks {len(absent)} model feature(s): {absent[:20]}"
            + (" …" if len(absent) > 20 else "")
        )
    extra = [name for name in (label_column, month_column) if name in names]
    frame = pd.concat(
        [pq.read_table(file, columns=[*features, *extra]).to_pandas() for file in files],
        ignore_index=True,
    )
    if frame.empty:
        raise MonitoringInputError(f"the batch {path} has no rows")
    return frame


def monitor_scored(model: ScoringModel, batch: pd.DataFrame, reference: pd.DataFrame,
                   settings: MonitorSettings, reference_auc: float | None) -> MonitoringResult:
    """Score the batch and the reference with the model and run every check; the batch's
    performance by month only when it has both labels and months."""
    types = required_input_types(model)
    features = list(types)
    reference_inputs = conform_inputs(reference, types)
    batch_inputs = conform_inputs(batch, types)
    reference_scored = model.predict(reference_inputs)
    batch_scored = model.predict(batch_inputs)
    label, month = settings.label_column, settings.month_column
    labelled = label in batch and month in batch
    if label in batch and not labelled:
        logger.warning("the batch has %s but no %s: performance by month not checked",
                       label, month)
    return monitor_batch(
        reference_inputs, reference_scored["score"], batch_inputs, batch_scored["score"],
        features, settings.monitoring,
        is_bad=batch[label] if labelled else None,
        probability=batch_scored["probability_of_default"] if labelled else None,
        as_of=batch[month] if labelled else None,
        reference_auc=reference_auc,
    )


def monitor_training_rows(model: ScoringModel, settings: MonitorSettings,
                          training_rows: LoggedTrainingRows,
                          reference_auc: float | None) -> MonitoringResult:
    """The batch against the ``reference_split`` rows of what the model's training run logged of
    its rows (rebuilt when it logged only their reference), both scored with the model."""
    features = list(required_input_types(model))
    batch = read_batch(Path(settings.input), features, settings.label_column,
                       settings.month_column)
    try:
        path = training_rows_file(training_rows)
    except TrainingRowsError as error:
        raise MonitoringInputError(f"no training rows to compare with: {error}") from error
    reference = read_reference(path, features, settings.monitoring.reference_split,
                               f"run {training_rows.run_id}")
    logger.info("monitoring %s rows against %s %s rows of run %s", f"{len(batch):,}",
                f"{len(reference):,}", settings.monitoring.reference_split, training_rows.run_id)
    return monitor_scored(model, batch, reference, settings, reference_auc)
