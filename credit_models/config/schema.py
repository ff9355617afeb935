"""Structured configs: the typed shape of every job's Hydra config.

Registered in Hydra's ConfigStore and placed first in each job's defaults list, so a misspelt key
or a wrong type in YAML or on the command line is rejected at load time with Hydra's message, and
closed choices (enums) list the valid values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore

from credit_models.data.simulator import SimulatorConfig
from credit_models.features.selection_config import SelectionConfig


class DataSource(str, Enum):
    simulator = "simulator"
    parquet = "parquet"
    uci_taiwan = "uci_taiwan"
    german_credit = "german_credit"


class DataAction(str, Enum):
    generate = "generate"
    validate = "validate"
    convert = "convert"


@dataclass
class DataConfig:
    source: DataSource = DataSource.simulator
    path: str = "data/generated/default"
    """Folder of the data set (contract tables as Parquet + manifest.json)."""
    source_file: str | None = None
    """Raw input of an adapter (the UCI or German CSV); converted into ``path``."""
    extraction_date: str | None = None
    """Overrides the manifest's extraction date (needed for data sets without a manifest)."""
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)


@dataclass
class SnapshotConfig:
    first_as_of: str | None = None
    """First month-start snapshot; empty = ``min_history_months`` after the first event."""
    last_as_of: str | None = None
    """Last snapshot; empty = the last one whose performance window is complete."""
    min_history_months: int = 6
    table: str | None = None
    """A snapshot table (Parquet or CSV: customer_id, as_of) instead of month starts."""


@dataclass
class FeaturesConfig:
    """The feature spec; its sources, columns, functions and references are checked by
    :func:`credit_models.features.spec.parse_feature_spec` before any work starts."""

    name: str = "default"
    latency_days: int = 0
    windows: list[int] = field(default_factory=lambda: [30, 90, 180, 365])
    static_attributes: bool = True
    filters: dict[str, Any] = field(default_factory=dict)
    aggregates: list[Any] = field(default_factory=list)
    derived: list[Any] = field(default_factory=list)
    snapshots: SnapshotConfig = field(default_factory=SnapshotConfig)
    chunk_customers: int = 10_000
    """Customers per chunk: bounds memory; results do not depend on it."""
    cache_dir: str | None = "data/cache/features"
    """Feature matrices are cached here by spec, data and snapshots; empty disables."""


@dataclass
class CapacityConfig:
    """The credit-limit model's target: peak (or percentile) monthly demand after as_of."""

    months: int = 6
    statistic: str = "max"
    quantile: float = 0.9
    include_declined: bool = True


class LabelSource(str, Enum):
    events = "events"
    table = "table"


@dataclass
class LabelsConfig:
    source: LabelSource = LabelSource.events
    """events: derived from bills and repayments; table: the data set's own ``labels`` table."""
    bad_days_past_due: int = 30
    performance_months: int = 6
    indeterminate_days_past_due: int | None = None
    indeterminate_policy: str = "exclude"
    inactive_months: int | None = None
    capacity: CapacityConfig = field(default_factory=CapacityConfig)


class SplitKind(str, Enum):
    out_of_time = "out_of_time"
    stratified = "stratified"


@dataclass
class SplitConfig:
    """Fields a kind does not use stay null (see credit_models/split/)."""

    kind: SplitKind = SplitKind.out_of_time
    valid_months: int | None = None
    """Snapshot months for early stopping, just before the calibration period."""
    calibration_months: int | None = None
    """Snapshot months on which probabilities are calibrated, just before the OOT period."""
    oot_months: int | None = None
    """The latest labelled snapshot months: the out-of-time test period."""
    group_customers: bool | None = None
    """Fit on some customers, stop/calibrate/test on the others (out_of_time)."""
    holdout_share: float | None = None
    """Share of customers held out from fitting (out_of_time)."""
    customer_shares: dict[str, float] | None = None
    """Share of customers in each split (stratified)."""
    cv_folds: int | None = None


class ModelFamilyName(str, Enum):
    xgboost = "xgboost"
    scorecard = "scorecard"


class ClassWeightName(str, Enum):
    none = "none"
    balanced = "balanced"


class CalibrationName(str, Enum):
    isotonic = "isotonic"
    platt = "platt"
    none = "none"


@dataclass
class ScoreScaleConfig:
    """Points = offset + factor * ln(good:bad odds); ``pdo`` points double the odds."""

    pdo: float = 20.0
    base_score: float = 600.0
    base_odds: float = 50.0


@dataclass
class ModelConfig:
    """See credit_models/models/pd_model.py (ModelSettings) for the meaning of each field."""

    name: str = "pd_xgb"
    family: ModelFamilyName = ModelFamilyName.xgboost
    params: dict[str, Any] = field(default_factory=dict)
    early_stopping_rounds: int = 50
    class_weight: ClassWeightName = ClassWeightName.none
    monotone_constraints: dict[str, int] = field(default_factory=dict)
    calibration: CalibrationName = CalibrationName.isotonic
    score: ScoreScaleConfig = field(default_factory=ScoreScaleConfig)


@dataclass
class MlflowConfig:
    tracking_uri: str = "sqlite:///mlflow.db"
    """A relative sqlite path is resolved against the working directory at start-up."""
    experiment_name: str = "credit_models"
    registered_model_name: str = "pd_xgb"
    register: bool = True
    log_feature_matrix: bool = True


@dataclass
class ReportConfig:
    segment_columns: list[str] = field(default_factory=list)
    """Features whose values are segments of their own in the report (next to the standard
    thin-file and new-customer segments)."""


@dataclass
class TrainConfig:
    seed: int = 7
    data: DataConfig = field(default_factory=DataConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    select_features: bool = True
    """Train on the features the selector keeps (the report is logged either way)."""
    split: SplitConfig = field(default_factory=SplitConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)
    report: ReportConfig = field(default_factory=ReportConfig)


@dataclass
class DataJobConfig:
    seed: int = 7
    action: DataAction = DataAction.generate
    data: DataConfig = field(default_factory=DataConfig)
    show_progress: bool = True


def register_configs() -> None:
    """Put the schemas where the YAML defaults lists expect them."""
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    store.store(name="data_job_schema", node=DataJobConfig)
