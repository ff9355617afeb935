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

from hydra.core.config_store import ConfigStore

from credit_models.models.xgb_pd import DEFAULT_PARAMS
from credit_models.workflows.comparison import CompareSettings
from credit_models.workflows.distributed.partitions import RepartitionSettings
from credit_models.workflows.explanation import ExplainSettings
from credit_models.workflows.monitoring import MonitorSettings
from credit_models.workflows.portfolio_description import PortfolioDescriptionSettings
from credit_models.workflows.promotion import PromoteSettings
from credit_models.workflows.scoring import ScoreSettings
from credit_models.workflows.scoring_batch import ScoringBatchSettings
from credit_models.workflows.settings import (
    DataSettings,
    EngineSettings,
    LimitsSettings,
    TrainSettings,
    TuneSettings,
)
from credit_models.workflows.structured import structured


class DataAction(str, Enum):
    generate = "generate"
    validate = "validate"
    convert = "convert"
    describe = "describe"
    repartition = "repartition"
    # `batch` (credit-models-data batch) composes conf/data_batch.yaml: ScoringBatchSettings


@dataclass
class DataJobConfig:
    seed: int = 7
    action: DataAction = DataAction.generate
    data: DataSettings = field(default_factory=DataSettings)
    show_progress: bool = True
    describe: PortfolioDescriptionSettings = field(default_factory=PortfolioDescriptionSettings)
    repartition: RepartitionSettings = field(default_factory=RepartitionSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    """``repartition`` runs on the Dask cluster these settings open (a local one by default)."""

    def __post_init__(self) -> None:
        if self.action == DataAction.repartition:
            self.repartition.require_paths()


def register_configs() -> None:
    """Put the schemas where the YAML defaults lists expect them."""
    store = ConfigStore.instance()
    store.store(name="train_schema", node=structured(TrainSettings))
    store.store(name="data_job_schema", node=DataJobConfig)
    store.store(name="score_schema", node=structured(ScoreSettings))
    store.store(name="monitor_schema", node=structured(MonitorSettings))
    store.store(name="tune_schema", node=structured(TuneSettings))
    store.store(name="compare_schema", node=structured(CompareSettings))
    store.store(name="promote_schema", node=structured(PromoteSettings))
    store.store(name="explain_schema", node=structured(ExplainSettings))
    store.store(name="limits_schema", node=structured(LimitsSettings))
    store.store(name="data_batch_schema", node=structured(ScoringBatchSettings))
    # conf/model/xgb_pd.yaml starts model.params from the code's defaults: one home for them.
    store.store(name="xgb_default_params", node=dict(DEFAULT_PARAMS))
