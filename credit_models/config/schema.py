"""Structured configs: the typed shape of every job's Hydra config.

Registered in Hydra's ConfigStore and placed first in each job's defaults list, so a misspelt key
or a wrong type in YAML or on the command line is rejected at load time with Hydra's message, and
closed choices (enums) list the valid values. The jobs that train (train, tune, limits) register
their settings classes (:mod:`credit_models.workflows.settings`) themselves: the schema and the
settings are one definition; :func:`credit_models.config.settings.to_settings` builds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore

from credit_models.explain.reason_codes import Direction, Language
from credit_models.workflows.settings import (
    DataSettings,
    EngineSettings,
    FairnessConfig,
    FeaturesSettings,
    LimitsSettings,
    TrainSettings,
    TuneSettings,
)
from credit_models.workflows.structured import structured


class DataAction(str, Enum):
    generate = "generate"
    validate = "validate"
    convert = "convert"


@dataclass
class DataJobConfig:
    seed: int = 7
    action: DataAction = DataAction.generate
    data: DataSettings = field(default_factory=DataSettings)
    show_progress: bool = True


@dataclass
class ScoringMlflowConfig:
    tracking_uri: str = "sqlite:///mlflow.db"
    """The store that holds the registered model; a relative sqlite path is resolved against the
    working directory at start-up."""
    telemetry: bool = False
    """Let MLflow send its anonymous usage telemetry (off unless opted in)."""


@dataclass
class ScoreConfig:
    model_uri: str = "models:/pd_xgb@champion"
    """``models:/<name>@<alias>``, ``models:/<name>/<version>`` or ``runs:/<run id>/model``."""
    input: str = "???"
    """A Parquet file, or a folder of them (read in sorted path order)."""
    output: str = "???"
    """The Parquet file written: id columns, probability_of_default, score, model_uri/version."""
    batch_rows: int = 100_000
    """Rows scored at a time: bounds memory; the output does not depend on it."""
    id_columns: list[str] = field(default_factory=lambda: ["customer_id", "as_of"])
    """Copied from the input to the output unchanged, row for row."""
    show_progress: bool = True
    mlflow: ScoringMlflowConfig = field(default_factory=ScoringMlflowConfig)


@dataclass
class MonitoringThresholdsConfig:
    """See credit_models/evaluation/monitoring.py (MonitoringThresholds)."""

    max_score_psi: float = 0.25
    max_feature_csi: float = 0.25
    max_missing_rate_increase: float = 0.10
    min_auc: float | None = None
    max_auc_drop: float | None = 0.05
    bins: int = 10
    reference_split: str = "dev"
    """The training run's split the batch is compared with (its feature matrix's rows)."""
    top_features: int = 20
    """Features shown in the CSI and missing-rate plots."""


@dataclass
class MonitoringMlflowConfig:
    tracking_uri: str = "sqlite:///mlflow.db"
    experiment_name: str = "credit_models_monitoring"
    log_run: bool = True
    """Log the checks, report and plots to a monitoring run (tag run_kind=monitoring)."""
    telemetry: bool = False
    """Let MLflow send its anonymous usage telemetry (off unless opted in)."""


@dataclass
class MonitorConfig:
    model_uri: str = "models:/pd_xgb@champion"
    input: str = "???"
    """The new batch: a feature-matrix Parquet file or folder (features, as_of; is_bad optional)."""
    output_dir: str = "???"
    label_column: str = "is_bad"
    month_column: str = "as_of"
    monitoring: MonitoringThresholdsConfig = field(default_factory=MonitoringThresholdsConfig)
    mlflow: MonitoringMlflowConfig = field(default_factory=MonitoringMlflowConfig)


@dataclass
class ComparisonDataConfig:
    """The rows both models score: a training run's feature matrix or a Parquet file of one."""

    path: str | None = None
    """A feature matrix (Parquet: the features, is_bad, optionally customer_id, as_of, split);
    null = the feature matrix the challenger's training run logged."""
    split: str | None = None
    """Only the rows of this split; null = the challenger run's test split (tag ``test_split``)
    for its own matrix, every row of ``path``."""


@dataclass
class RegistryTrackingConfig:
    tracking_uri: str = "sqlite:///mlflow.db"
    """The store that holds the registry; a relative sqlite path is resolved against the working
    directory."""
    experiment_name: str = "credit_models_registry"
    """Where comparison and promotion runs are logged."""
    telemetry: bool = False
    """Let MLflow send its anonymous usage telemetry (off unless opted in)."""


@dataclass
class CompareConfig:
    model_name: str = "pd_xgb"
    champion: str = "champion"
    """Alias (or version number) of the model in use."""
    challenger: str = "challenger"
    """Alias or version number of the candidate."""
    data: ComparisonDataConfig = field(default_factory=ComparisonDataConfig)
    reference_split: str = "dev"
    """PSI of each model's PD from the champion's rows of this split to the compared rows."""
    bins: int = 10
    """Bins of the PSI and of the expected calibration error."""
    mlflow: RegistryTrackingConfig = field(default_factory=RegistryTrackingConfig)


@dataclass
class GateConfig:
    """What a challenger must show on the compared rows to become the champion."""

    min_auc_gain: float = 0.0
    """challenger AUC − champion AUC must be at least this."""
    max_ece_increase: float = 0.005
    """challenger ECE − champion ECE must be at most this."""
    max_psi: float = 0.1
    """The challenger's PSI of PD (reference split → compared rows) must be at most this."""
    max_ks_drop: float = 0.01
    """champion KS − challenger KS must be at most this."""
    require_same_label: bool = True
    """Both training runs must carry the same ``label`` tag (the same default definition)."""


@dataclass
class PromoteConfig(CompareConfig):
    gate: GateConfig = field(default_factory=GateConfig)
    force: bool = False
    """Promote a first champion (no gate possible) or override a failed gate."""
    force_reason: str | None = None
    """Required to override a failed gate; recorded on the version and the promotion run."""


@dataclass
class ReasonTextConfig:
    code: str = ""
    zh: str = ""
    en: str = ""


@dataclass
class ReasonEntryConfig:
    """One reason-code entry; checked further by
    :meth:`credit_models.explain.reason_codes.ReasonDictionary.from_config`."""

    pattern: str = ""
    code: str = ""
    zh: str = ""
    en: str = ""
    direction: Direction = Direction.any
    otherwise: ReasonTextConfig | None = None
    missing: ReasonTextConfig | None = None


@dataclass
class ReasonsConfig:
    """``conf/reasons/*.yaml``: feature-name patterns → reason code and texts."""

    name: str = "default"
    entries: list[ReasonEntryConfig] = field(default_factory=list)


class ExplainSource(str, Enum):
    matrix = "matrix"
    data = "data"


class FeatureSpecSource(str, Enum):
    run = "run"
    config = "config"


class ContributionMethodName(str, Enum):
    auto = "auto"
    pred_contribs = "pred_contribs"
    shap = "shap"


class ReasonTableForm(str, Enum):
    wide = "wide"
    long = "long"


@dataclass
class ExplainConfig:
    """See credit_models/jobs/explain.py."""

    model_uri: str = "models:/pd_xgb@champion"
    """``models:/<name>@<alias>``, ``models:/<name>/<version>``, ``runs:/<run id>/model`` or a
    bare run id."""
    tracking_uri: str = "sqlite:///mlflow.db"
    source: ExplainSource = ExplainSource.matrix
    """matrix: rows of a feature matrix; data: features built from ``data`` at ``as_of``."""
    feature_matrix: str | None = None
    """A feature-matrix Parquet (customer_id, as_of, features…); null = the one the model's
    training run logged (also the reference sample for direction-aware reasons)."""
    features_from: FeatureSpecSource = FeatureSpecSource.run
    """source=data: the feature spec the training run logged, or the ``features`` config."""
    customer_ids: list[Any] | None = None
    """Customers to explain; null = every row at ``as_of`` (a batch)."""
    as_of: str | None = None
    """The snapshot date (required)."""
    top_k: int = 4
    language: Language = Language.both
    method: ContributionMethodName = ContributionMethodName.auto
    reference_split: str | None = "dev"
    """Split of the feature matrix whose medians tell high from low values; null = none."""
    output: str | None = None
    """Write the reasons here (.parquet or .csv); null = print only."""
    output_form: ReasonTableForm = ReasonTableForm.wide
    print_rows: int = 20
    """Customers printed to the console at most."""
    seed: int = 7
    """Seeds a simulated data set (source=data with data=simulated)."""
    data: DataSettings = field(default_factory=DataSettings)
    features: FeaturesSettings = field(default_factory=FeaturesSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    reasons: ReasonsConfig = field(default_factory=ReasonsConfig)
    fairness: FairnessConfig = field(default_factory=FairnessConfig)


def register_configs() -> None:
    """Put the schemas where the YAML defaults lists expect them."""
    store = ConfigStore.instance()
    store.store(name="train_schema", node=structured(TrainSettings))
    store.store(name="data_job_schema", node=DataJobConfig)
    store.store(name="score_schema", node=ScoreConfig)
    store.store(name="monitor_schema", node=MonitorConfig)
    store.store(name="tune_schema", node=structured(TuneSettings))
    store.store(name="compare_schema", node=CompareConfig)
    store.store(name="promote_schema", node=PromoteConfig)
    store.store(name="explain_schema", node=ExplainConfig)
    store.store(name="limits_schema", node=structured(LimitsSettings))
