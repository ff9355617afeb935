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

from credit_models.data.plausibility import PlausibilityConfig
from credit_models.data.simulator import SimulatorConfig
from credit_models.features.selection_config import SelectionConfig
from credit_models.limits.policy import TargetMethod
from credit_models.models.pd_model import CalibrationMethod, ClassWeight, ModelFamily


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
    plausibility: PlausibilityConfig = field(default_factory=PlausibilityConfig)
    """Ceilings on amounts (currency units) beyond which validation refuses a value as absurd."""


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


class EngineKind(str, Enum):
    local = "local"


@dataclass
class EngineConfig:
    """How features are computed (``conf/engine/``): nothing here changes a result, so nothing
    here is part of the feature cache's key."""

    kind: EngineKind = EngineKind.local
    chunk_customers: int = 10_000
    """Customers per chunk: bounds memory; results do not depend on it."""
    feature_cache_dir: str | None = "data/cache/features"
    """Feature matrices are cached here by spec, data and snapshots; empty disables."""


@dataclass
class CapacityConfig:
    """The credit-limit model's target: peak (or percentile) monthly demand after as_of."""

    months: int = 6
    statistic: str = "max"
    quantile: float = 0.9
    include_declined: bool = True
    demand: str = "orders"
    """orders: orders (+ declines for insufficient limit); statements: each statement's new
    charges, for data sets without an orders table (UCI)."""


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
    family: ModelFamily = ModelFamily.xgboost
    params: dict[str, Any] = field(default_factory=dict)
    early_stopping_rounds: int = 50
    class_weight: ClassWeight = ClassWeight.none
    monotone_constraints: dict[str, int] = field(default_factory=dict)
    calibration: CalibrationMethod = CalibrationMethod.isotonic
    pd_floor: float = 3e-4
    """Lowest calibrated PD (3 basis points, the Basel retail floor)."""
    score: ScoreScaleConfig = field(default_factory=ScoreScaleConfig)


@dataclass
class MlflowConfig:
    tracking_uri: str = "sqlite:///mlflow.db"
    """A relative sqlite path is resolved against the working directory at start-up."""
    experiment_name: str = "credit_models"
    registered_model_name: str = "pd_xgb"
    register: bool = True
    log_feature_matrix: bool = False
    """Log the training rows (customer ids, attributes, labels) with a PD run; off by default:
    the run logs their fingerprint and how to rebuild them (features/matrix_reference.json)."""
    log_decisions: bool = False
    """Log a limit run's customer-level decisions (limits/decisions.parquet and a CSV sample);
    off by default: the run keeps the aggregates by PD band."""
    telemetry: bool = False
    """Let MLflow send its anonymous usage telemetry (off unless opted in)."""


@dataclass
class ReportConfig:
    segment_columns: list[str] = field(default_factory=list)
    """Features whose values are segments of their own in the report (next to the standard
    thin-file and new-customer segments)."""


@dataclass
class FairnessConfig:
    """``conf/fairness/*.yaml``: sensitive attributes (never a customer's reason; optionally no
    model input) and the fairness review's approval cut-off and age bands; checked further by
    :meth:`credit_models.features.sensitive.SensitiveAttributes.from_config`."""

    sensitive_attributes: dict[str, list[str]] = field(default_factory=dict)
    exclude_from_model: bool = False
    approval_pd_cutoff: float = 0.10
    age_bands: list[float] = field(default_factory=lambda: [25.0, 35.0, 45.0, 55.0])
    min_group_rows: int = 10


@dataclass
class TrainConfig:
    seed: int = 7
    data: DataConfig = field(default_factory=DataConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    select_features: bool = True
    """Train on the features the selector keeps (the report is logged either way)."""
    split: SplitConfig = field(default_factory=SplitConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    fairness: FairnessConfig = field(default_factory=FairnessConfig)


@dataclass
class CapacityModelConfig:
    """See credit_models/limits/capacity_model.py (CapacitySettings)."""

    name: str = "xgb_quantile"
    quantiles: list[float] = field(default_factory=lambda: [0.5, 0.9])
    params: dict[str, Any] = field(default_factory=dict)
    early_stopping_rounds: int = 30
    log_target: bool = True


@dataclass
class TierConfig:
    basis: str = "capacity_q90"
    pd_bands: dict[str, list[float]] = field(default_factory=dict)
    capacity_bands: dict[str, list[float]] = field(default_factory=dict)
    multipliers: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class OptimumConfig:
    revenue_rate: float = 0.30
    funding_rate: float = 0.04
    horizon_months: int = 12
    pd_elasticity: float = 0.15
    expected_loss_budget: float = 0.06
    grid_points: int = 60


@dataclass
class ReviewConfig:
    min_change: float = 0.1
    max_step_share: float = 0.5
    max_step_amount: float = 10_000.0
    min_months_between_raises: float = 6.0
    no_raise_months_after_delinquency: float = 6.0
    cut_pd_threshold: float = 0.03
    max_cut_share: float = 0.5


@dataclass
class PromotionWindowConfig:
    month: int = 6
    first_day: int = 1
    expiry_day: int = 21


@dataclass
class PromotionConfig:
    windows: dict[str, PromotionWindowConfig] = field(default_factory=dict)
    min_utilisation: float = 0.1
    max_pd: float = 0.1
    extra_share: float = 0.5
    max_extra: float = 10_000.0


@dataclass
class ReasonTextPair:
    zh: str = ""
    en: str = ""


@dataclass
class PolicyConfig:
    """``conf/policy/*.yaml``; the rules between fields (bands tiling, floor <= ceiling, a text
    per reason code) are checked by :func:`credit_models.limits.decisions.load_policy`."""

    name: str = "default"
    method: TargetMethod = TargetMethod.optimum
    floor: float = 500.0
    ceiling: float = 50_000.0
    rounding: float = 100.0
    lgd: float = 0.85
    ccf: float = 0.5
    max_pd: float = 0.35
    tiers: TierConfig = field(default_factory=TierConfig)
    optimum: OptimumConfig = field(default_factory=OptimumConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    promotion: PromotionConfig = field(default_factory=PromotionConfig)
    reason_texts: dict[str, ReasonTextPair] = field(default_factory=dict)


@dataclass
class StressScenarioConfig:
    pd_multiplier: float = 1.0
    spend_multiplier: float = 1.0
    lgd_add: float = 0.0


@dataclass
class StressConfig:
    asset_correlation: float = 0.04
    confidence: float = 0.999
    scenarios: dict[str, StressScenarioConfig] = field(default_factory=dict)


@dataclass
class AccountFeaturesConfig:
    """Which feature carries each account fact (credit_models/limits/account_facts.py)."""

    current_limit: str = "limit_changes__new_limit__last"
    balance: str = "statements__amount_due__last"
    days_since_delinquency: str = "due_outcomes_missed__bill__days_since_last"
    days_past_due_now: str = "delinquency__days_past_due__current"
    days_since_raise: str = "limit_changes_raise__change__days_since_last"


@dataclass
class LimitsSettingsConfig:
    account: AccountFeaturesConfig = field(default_factory=AccountFeaturesConfig)
    as_of: str | None = None
    """The portfolio's snapshot; null = the earliest snapshot of the evaluation split."""
    capacity_as_of: list[str] = field(default_factory=list)
    """Snapshots to fit the capacity model on instead of the PD's labelled snapshots (for data
    whose labelled snapshots have no months after them, such as UCI)."""
    language: str = "en"
    top_reasons: int = 3


@dataclass
class BacktestSweepConfig:
    expected_loss_budget: list[float] = field(default_factory=list)
    tier_scale: list[float] = field(default_factory=list)


@dataclass
class BacktestConfig:
    months: int = 9
    """Replay window after the portfolio's snapshot."""
    monthly_review: bool = True
    """Review the candidate policies' limits at every month start of the window (as the lender
    does); false holds the limits decided at the snapshot."""
    sweep: BacktestSweepConfig = field(default_factory=BacktestSweepConfig)


@dataclass
class LimitsConfig(TrainConfig):
    capacity: CapacityModelConfig = field(default_factory=CapacityModelConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    stress: StressConfig = field(default_factory=StressConfig)
    limits: LimitsSettingsConfig = field(default_factory=LimitsSettingsConfig)
    backtest: BacktestConfig = field(default_factory=BacktestConfig)


class TuningDirection(str, Enum):
    maximize = "maximize"
    minimize = "minimize"


@dataclass
class SearchDimension:
    """One hyper-parameter's range: ``float``/``int`` between ``low`` and ``high`` (``log`` =
    sampled on a log scale), or ``categorical`` among ``choices``. The fields of each entry of
    ``tuning.space``, checked by :func:`credit_models.jobs.tune.search_space` (which names
    the key): the space itself stays an open mapping so that a dimension can be added on the
    command line (``+tuning.space.gamma={type: float, low: 0, high: 5}``)."""

    type: str = "float"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[Any] | None = None


@dataclass
class TuningConfig:
    n_trials: int = 20
    metric: str = "valid/auc"
    """``split/metric`` of a trial; never the test split's (tuning on it is leakage)."""
    direction: TuningDirection = TuningDirection.maximize
    sampler_seed: int = 7
    timeout_s: float | None = None
    """Stop starting new trials after this many seconds (null = run all ``n_trials``)."""
    baseline_trial: bool = True
    """Trial 0 uses the configured ``model.params``: the untuned model is the first point of
    comparison."""
    space: dict[str, Any] = field(default_factory=dict)
    """``model.params`` key → its range (the fields of :class:`SearchDimension`)."""


@dataclass
class TuneConfig(TrainConfig):
    tuning: TuningConfig = field(default_factory=TuningConfig)


@dataclass
class DataJobConfig:
    seed: int = 7
    action: DataAction = DataAction.generate
    data: DataConfig = field(default_factory=DataConfig)
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


class ReasonDirection(str, Enum):
    any = "any"
    high = "high"
    low = "low"


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
    direction: ReasonDirection = ReasonDirection.any
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


class ReasonLanguage(str, Enum):
    zh = "zh"
    en = "en"
    both = "both"


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
    language: ReasonLanguage = ReasonLanguage.both
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
    data: DataConfig = field(default_factory=DataConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    reasons: ReasonsConfig = field(default_factory=ReasonsConfig)
    fairness: FairnessConfig = field(default_factory=FairnessConfig)


def register_configs() -> None:
    """Put the schemas where the YAML defaults lists expect them."""
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    store.store(name="data_job_schema", node=DataJobConfig)
    store.store(name="score_schema", node=ScoreConfig)
    store.store(name="monitor_schema", node=MonitorConfig)
    store.store(name="tune_schema", node=TuneConfig)
    store.store(name="compare_schema", node=CompareConfig)
    store.store(name="promote_schema", node=PromoteConfig)
    store.store(name="explain_schema", node=ExplainConfig)
    store.store(name="limits_schema", node=LimitsConfig)
