"""The settings of each job that trains: one typed value built once from the composed config.

API (for jobs, tracking and tests):

* ``settings = credit_models.config.settings.to_settings(cfg)`` at the top of a job turns the
  composed Hydra config into :class:`TrainSettings` / :class:`TuneSettings` /
  :class:`LimitsSettings` (whichever schema the job's YAML names). Every section checks itself
  when built, so a bad value stops the job with one :class:`~credit_models.errors.ConfigError`
  line (exit 2) before any data are read.
* Sections are the stages' own settings classes: ``settings.model`` is
  :class:`credit_models.models.settings.ModelSettings` (``model.params`` names and types checked
  against the estimator; ``estimator_params`` = the params over the family's defaults),
  ``settings.labels`` :class:`~credit_models.labels.default_label.DefaultDefinition` (with
  ``labels.capacity``, the capacity target), ``settings.split``
  :class:`~credit_models.split.factory.SplitSettings`, ``settings.selection``
  :class:`~credit_models.features.selection_config.SelectionConfig`, ``settings.fairness``
  :class:`~credit_models.features.sensitive.FairnessSettings` (``.sensitive`` gives the
  :class:`~credit_models.features.sensitive.SensitiveAttributes`); for the limits job
  ``settings.capacity`` :class:`~credit_models.limits.capacity_model.CapacitySettings`,
  ``settings.stress`` :class:`~credit_models.limits.stress.StressSettings` and
  ``settings.limits.account`` :class:`~credit_models.limits.account_facts.AccountFeatures`.
  ``settings.policy`` and ``settings.tuning`` are still plain mirrors, parsed further by
  :func:`~credit_models.limits.decisions.load_policy` and the tuning workflow.
* ``settings.splitter`` is the configured splitter, built (and checked against the model's
  calibration) once, when the settings are.
* Workflows take these settings, never a DictConfig: ``assemble_training_data(settings, stage)``
  reads the :class:`TrainingDataSettings` part (what a run logs to rebuild its rows).
* Outside a job, :func:`credit_models.workflows.structured.settings_from` builds any settings
  class from a plain mapping through the same checks (a logged build, a test).
* The Hydra schema registered by :mod:`credit_models.config.schema` *is* these classes: there is
  no mirror to keep in step.

Plain dataclasses: nothing here imports Hydra, OmegaConf or MLflow.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any

from credit_models.data.plausibility import PlausibilityConfig
from credit_models.data.simulator import SimulatorConfig
from credit_models.errors import ConfigError, enum_choice
from credit_models.evaluation.validation_thresholds import ValidationThresholds
from credit_models.features.selection_config import SelectionConfig
from credit_models.features.sensitive import FairnessSettings
from credit_models.labels.default_label import DefaultDefinition
from credit_models.limits.account_facts import AccountFeatures
from credit_models.limits.capacity_model import CapacitySettings
from credit_models.limits.policy import PromotionSizing, TargetMethod
from credit_models.limits.stress import StressSettings
from credit_models.models.settings import CalibrationMethod, ModelSettings
from credit_models.split.factory import SplitSettings, Splitter
from credit_models.split.names import CALIBRATION
from credit_models.workflows.study_settings import StudySettings


class DataSource(str, Enum):
    simulator = "simulator"
    parquet = "parquet"
    uci_taiwan = "uci_taiwan"
    german_credit = "german_credit"


@dataclass
class DataSettings:
    source: DataSource = DataSource.simulator
    path: str | None = "data/generated/default"
    """Folder of the data set (contract tables as Parquet + manifest.json); required (null in
    ``conf/data/parquet.yaml``: the reader says how to give it)."""
    source_file: str | None = None
    """Raw input of an adapter (the UCI or German CSV); converted into ``path``."""
    extraction_date: str | None = None
    """Overrides the manifest's extraction date (needed for data sets without a manifest)."""
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    plausibility: PlausibilityConfig = field(default_factory=PlausibilityConfig)
    """Ceilings on amounts (currency units) beyond which validation refuses a value as absurd."""

    def __post_init__(self) -> None:
        if self.source is DataSource.simulator:     # checked with the config, not at generation
            try:
                self.simulator.validate()
            except ConfigError as error:
                raise ConfigError(f"data.simulator.{error}") from None


@dataclass
class SnapshotSettings:
    first_as_of: str | None = None
    """First month-start snapshot; empty = ``min_history_months`` after the first event."""
    last_as_of: str | None = None
    """Last snapshot; empty = the last one whose performance window is complete."""
    min_history_months: int = 6
    table: str | None = None
    """A snapshot table (Parquet or CSV: customer_id, as_of) instead of month starts."""


@dataclass
class FeaturesSettings:
    """The feature spec; its sources, columns, functions and references are checked by
    :func:`credit_models.features.spec.parse_feature_spec` before any work starts."""

    name: str = "default"
    latency_days: int = 0
    windows: list[int] = field(default_factory=lambda: [30, 90, 180, 365])
    static_attributes: bool = True
    filters: dict[str, Any] = field(default_factory=dict)
    aggregates: list[Any] = field(default_factory=list)
    derived: list[Any] = field(default_factory=list)
    snapshots: SnapshotSettings = field(default_factory=SnapshotSettings)


class EngineKind(str, Enum):
    local = "local"
    dask = "dask"


MEMORY_LIMIT_PATTERN = r"^\d+(\.\d+)?\s*(B|kB|KB|KiB|MB|MiB|GB|GiB|TB|TiB)$"


@dataclass
class EngineSettings:
    """Where and how the work is done (``conf/engine/``): nothing here changes a result, so
    nothing here is part of the feature cache's key.

    ``local`` runs on this machine, feature chunks spread over ``workers`` processes. ``dask``
    runs the per-customer work (reading a data set's partitions, features, labels, batch scores)
    on a Dask cluster: the scheduler at ``address``, or a local cluster of ``n_workers`` processes
    when no address is given."""

    kind: EngineKind = EngineKind.local
    chunk_customers: int = 10_000
    """Customers per chunk: bounds memory; results do not depend on it."""
    feature_cache_dir: str | None = "data/cache/features"
    """Feature matrices are cached here by spec, data and snapshots; empty disables."""
    workers: int | None = None
    """``local``: processes computing feature chunks side by side; null = every core."""
    address: str | None = None
    """``dask``: an existing scheduler (``tcp://host:8786``, a gateway's address); null starts a
    local cluster sized by the three settings below."""
    n_workers: int = 2
    threads_per_worker: int = 1
    memory_limit: str = "4GiB"
    """Per worker, as Dask writes it (``4GiB``, ``1500MB``): a worker spills, then pauses, near
    it, and is restarted above it."""
    connect_timeout_s: float = 10.0
    """How long to wait for the scheduler at ``address`` before giving up with an error."""

    def __post_init__(self) -> None:
        self.kind = enum_choice(EngineKind, self.kind, "engine.kind")
        if self.chunk_customers < 1:
            raise ConfigError(f"engine.chunk_customers must be >= 1; got {self.chunk_customers}")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"engine.workers must be >= 1 or null (every core); got "
                              f"{self.workers}")
        if self.n_workers < 1 or self.threads_per_worker < 1:
            raise ConfigError(
                f"engine.n_workers and engine.threads_per_worker must be >= 1; got "
                f"{self.n_workers} and {self.threads_per_worker}")
        if not re.match(MEMORY_LIMIT_PATTERN, str(self.memory_limit)):
            raise ConfigError(
                f"engine.memory_limit must be a size such as 4GiB or 1500MB; got "
                f"{self.memory_limit!r}")
        if self.connect_timeout_s <= 0:
            raise ConfigError(f"engine.connect_timeout_s must be > 0; got "
                              f"{self.connect_timeout_s}")
        if self.address is not None and "://" not in self.address:
            raise ConfigError(
                f"engine.address must be a scheduler address with its protocol, such as "
                f"tcp://10.0.0.5:8786; got {self.address!r}")


@dataclass
class MlflowSettings:
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
class ReportSettings:
    segment_columns: list[str] = field(default_factory=list)
    """Features whose values are segments of their own in the report (next to the standard
    thin-file and new-customer segments)."""


def check_calibration_split(model: ModelSettings, periods: tuple[str, ...]) -> None:
    """A calibrated model needs a calibration split to fit its calibrator on."""
    if model.calibration is not CalibrationMethod.none and CALIBRATION not in periods:
        raise ConfigError(
            f"model.calibration={model.calibration.value} needs a calibration split; set "
            f"split.calibration_share > 0 (split.holdout=customers), split.calibration_months "
            f">= 1 (split.holdout=months) or model.calibration=none"
        )


@dataclass(frozen=True)
class TrainingDataSettings:
    """What decides a modelling table's rows, columns and splits, and nothing else: what
    :func:`~credit_models.workflows.training_data.assemble_training_data` reads, and what a run
    logs to rebuild its training rows."""

    seed: int = 7
    data: DataSettings = field(default_factory=DataSettings)
    features: FeaturesSettings = field(default_factory=FeaturesSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    labels: DefaultDefinition = field(default_factory=DefaultDefinition)
    split: SplitSettings = field(default_factory=SplitSettings)

    def __post_init__(self) -> None:
        _ = self.splitter     # built, and so checked, now

    @cached_property
    def splitter(self) -> Splitter:
        """The configured splitter: built once, with the settings."""
        return self.split.build(self.seed)


@dataclass(frozen=True)
class TrainSettings(TrainingDataSettings):
    """``credit-models-train``: the training data, and how a PD model is selected, fitted,
    reviewed, logged and reported."""

    selection: SelectionConfig = field(default_factory=SelectionConfig)
    select_features: bool = True
    """Train on the features the selector keeps (the report is logged either way)."""
    refit: bool = True
    """Refit the final model on every pre-test row (development and validation; calibration
    too when nothing is calibrated) with the validated tree count, so that it learns from the
    months right before the test period; the test period stays untouched."""
    model: ModelSettings = field(default_factory=ModelSettings)
    fairness: FairnessSettings = field(default_factory=FairnessSettings)
    mlflow: MlflowSettings = field(default_factory=MlflowSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    validation: ValidationThresholds = field(default_factory=ValidationThresholds)
    """The validation report's pass and watch levels (``conf/validation/``)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_calibration_split(self.model, self.splitter.periods)
        try:
            self.selection.build(self.model.family.value)   # checked now, not at fit
        except ValueError as error:     # the selector's own message starts with the parameter
            raise ConfigError(f"selection.{error}") from None


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
    sizing: PromotionSizing = PromotionSizing.demand
    demand_basis: str = "capacity_q90"
    demand_multiplier: float = 2.0
    min_utilisation: float = 0.1
    max_pd: float = 0.07
    extra_share: float = 1.0
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
class LimitsSettingsConfig:
    account: AccountFeatures = field(default_factory=AccountFeatures)
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
    closed_loop: bool = True
    """On a simulated data set, also simulate the window again under each headline policy's
    limits (common random numbers) and report the replay's bias."""
    closed_loop_models: list[str] = field(default_factory=list)
    """Registered ``credit_limit`` models (``models:/credit_limit/3``, ``credit_limit@champion``)
    whose decisions at the snapshot the closed loop also simulates."""
    sweep: BacktestSweepConfig = field(default_factory=BacktestSweepConfig)


@dataclass(frozen=True)
class LimitsSettings(TrainSettings):
    """``credit-models-limits``: the PD model's settings, and the capacity model, limit policy,
    stress scenarios, portfolio and backtest."""

    capacity: CapacitySettings = field(default_factory=CapacitySettings)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    stress: StressSettings = field(default_factory=StressSettings)
    limits: LimitsSettingsConfig = field(default_factory=LimitsSettingsConfig)
    backtest: BacktestConfig = field(default_factory=BacktestConfig)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.stress.require_scenarios()


class TuningDirection(str, Enum):
    maximize = "maximize"
    minimize = "minimize"


@dataclass
class SearchDimension:
    """One hyper-parameter's range: ``float``/``int`` between ``low`` and ``high`` (``log`` =
    sampled on a log scale), or ``categorical`` among ``choices``. The fields of each entry of
    ``tuning.space``, checked by :func:`credit_models.workflows.study_settings.search_space`
    (which names the key): the space itself stays an open mapping so that a dimension can be
    added on the command line (``+tuning.space.gamma={type: float, low: 0, high: 5}``)."""

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


@dataclass(frozen=True)
class TuneSettings(TrainSettings):
    """``credit-models-tune``: the train job's settings and the search."""

    tuning: TuningConfig = field(default_factory=TuningConfig)

    def __post_init__(self) -> None:
        super().__post_init__()
        _ = self.study      # the search checked now, with the rest of the config

    @cached_property
    def study(self) -> StudySettings:
        """The study of ``tuning``, checked against the model and the split."""
        return StudySettings.from_settings(self)


def settings_dict(settings: Any) -> dict[str, Any]:
    """Any settings dataclass as plain, JSON-ready values (enums by value): what a run logs as
    its resolved config when the settings were built in Python rather than composed by a job."""

    def plain(value: Any) -> Any:
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(item) for item in value]
        return value

    return plain(dataclasses.asdict(settings))
