"""credit_models: point-in-time features, PD and credit-limit models, explanations and an MLflow
registry for consumer credit lines.

The public API: what a notebook or a script imports (``from credit_models import PdModel``).
Names are loaded on first use, so that ``import credit_models`` — and every console script, which
imports the package first — does not pay for the whole stack (XGBoost, SHAP, MLflow) up front.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # data: simulate, read and validate contract tables
    "SimulatorConfig": "credit_models.data.simulator",
    "simulate_portfolio": "credit_models.data.simulator",
    "read_tables": "credit_models.data.io",
    "validate_tables": "credit_models.data.validation",
    # bring your own data: a sample file in the UCI Taiwan layout, its adapter, a hard stop
    "uci_taiwan_sample": "credit_models.data.adapters",
    "convert_uci_taiwan": "credit_models.data.adapters",
    "check_tables": "credit_models.data.validation",
    "DataContractError": "credit_models.errors",
    "empty_table": "credit_models.data.io",
    # features, point in time
    "FeatureSpec": "credit_models.features.spec",
    "default_feature_spec": "credit_models.features.spec",
    "parse_feature_spec": "credit_models.features.spec",
    "month_starts": "credit_models.features.snapshots",
    "customer_snapshots": "credit_models.features.snapshots",
    "build_features": "credit_models.features.engine",
    # labels and splits
    "DefaultDefinition": "credit_models.labels.default_label",
    "label_default": "credit_models.labels.default_label",
    "SplitSettings": "credit_models.split.factory",
    # the portfolio before any model: vintage curves and roll rates, and their figures
    "vintage_curves": "credit_models.labels.vintage",
    "roll_rates": "credit_models.labels.vintage",
    "PortfolioDescriptionSettings": "credit_models.workflows.portfolio_description",
    "describe_portfolio": "credit_models.workflows.portfolio_description",
    "monthly_volume_plot": "credit_models.reporting.portfolio_plots",
    "vintage_curves_plot": "credit_models.reporting.portfolio_plots",
    "roll_rate_heatmap": "credit_models.reporting.portfolio_plots",
    "use_figure_style": "credit_models.explain.figure_style",
    # models: scikit-learn estimators
    "model_inputs": "credit_models.models.xgb_pd",
    "ModelSettings": "credit_models.models.settings",
    "PdModel": "credit_models.models.pd_model",
    "WoeScorecard": "credit_models.models.scorecard",
    "ProbabilityCalibrator": "credit_models.models.calibration",
    "CapacityModel": "credit_models.limits.capacity_model",
    # evaluation, explanations, reports
    "ranking_metrics": "credit_models.evaluation.metrics",
    "model_contributions": "credit_models.explain.contributions",
    "ReasonDictionary": "credit_models.explain.reason_codes",
    "explain_rows": "credit_models.explain.local_explanations",
    "ValidationInputs": "credit_models.reporting.validation_report",
    "build_validation_report": "credit_models.reporting.validation_report",
    "pd_validation_report": "credit_models.reporting.pd_report",
    # the whole PD workflow, with the settings a job would use, and its MLflow run
    "load_settings": "credit_models.config.compose",
    "TrainSettings": "credit_models.workflows.settings",
    "settings_dict": "credit_models.workflows.settings",
    "train_pd_model": "credit_models.workflows.pd_training",
    "log_pd_run": "credit_models.tracking.pd_run",
    # credit limits: the limits workflow, its figures, reasons given and recourse
    "run_limits": "credit_models.workflows.limits",
    "limits_by_band_figure": "credit_models.reporting.limits_report",
    "frontier_figure": "credit_models.limits.backtest_metrics",
    "stress_figure": "credit_models.limits.stress",
    "reason_frequencies": "credit_models.explain.reason_frequency",
    "reason_frequency_figure": "credit_models.explain.reason_frequency",
    "recourse_summary": "credit_models.limits.recourse",
    "closed_loop_figure": "credit_models.reporting.limits_report",
    # closed loop: a simulated portfolio's months again under other limits
    "closed_loop_outcomes": "credit_models.data.simulator.closed_loop",
    "ClosedLoopWindow": "credit_models.data.simulator.closed_loop",
    # the registry: champion against challenger, and promotion behind the gate
    "compare_version": "credit_models.config.registry_runs",
    "promote_version": "credit_models.config.registry_runs",
    # the Dask engine: a cluster, customer partitions (train_pd_model takes engine=dask)
    "open_cluster": "credit_models.workflows.distributed.cluster",
    "open_partitioned_dataset": "credit_models.workflows.distributed.partitions",
    "check_customer_partitioning": "credit_models.workflows.distributed.partitions",
    "repartition_dataset": "credit_models.workflows.distributed.partitions",
}

__all__ = ["__version__", *_EXPORTS]  # noqa: PLE0604 (the names are the keys above)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'credit_models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value      # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:    # what type checkers and IDEs see
    from credit_models.config.compose import load_settings as load_settings
    from credit_models.config.registry_runs import compare_version as compare_version
    from credit_models.config.registry_runs import promote_version as promote_version
    from credit_models.data.adapters import convert_uci_taiwan as convert_uci_taiwan
    from credit_models.data.adapters import uci_taiwan_sample as uci_taiwan_sample
    from credit_models.data.io import empty_table as empty_table
    from credit_models.data.io import read_tables as read_tables
    from credit_models.data.simulator import SimulatorConfig as SimulatorConfig
    from credit_models.data.simulator import simulate_portfolio as simulate_portfolio
    from credit_models.data.simulator.closed_loop import ClosedLoopWindow as ClosedLoopWindow
    from credit_models.data.simulator.closed_loop import (
        closed_loop_outcomes as closed_loop_outcomes,
    )
    from credit_models.data.validation import check_tables as check_tables
    from credit_models.data.validation import validate_tables as validate_tables
    from credit_models.errors import DataContractError as DataContractError
    from credit_models.evaluation.metrics import ranking_metrics as ranking_metrics
    from credit_models.explain.contributions import model_contributions as model_contributions
    from credit_models.explain.figure_style import use_figure_style as use_figure_style
    from credit_models.explain.local_explanations import explain_rows as explain_rows
    from credit_models.explain.reason_codes import ReasonDictionary as ReasonDictionary
    from credit_models.explain.reason_frequency import (
        reason_frequencies as reason_frequencies,
    )
    from credit_models.explain.reason_frequency import (
        reason_frequency_figure as reason_frequency_figure,
    )
    from credit_models.features.engine import build_features as build_features
    from credit_models.features.snapshots import customer_snapshots as customer_snapshots
    from credit_models.features.snapshots import month_starts as month_starts
    from credit_models.features.spec import FeatureSpec as FeatureSpec
    from credit_models.features.spec import default_feature_spec as default_feature_spec
    from credit_models.features.spec import parse_feature_spec as parse_feature_spec
    from credit_models.labels.default_label import DefaultDefinition as DefaultDefinition
    from credit_models.labels.default_label import label_default as label_default
    from credit_models.labels.vintage import roll_rates as roll_rates
    from credit_models.labels.vintage import vintage_curves as vintage_curves
    from credit_models.limits.backtest_metrics import frontier_figure as frontier_figure
    from credit_models.limits.capacity_model import CapacityModel as CapacityModel
    from credit_models.limits.recourse import recourse_summary as recourse_summary
    from credit_models.limits.stress import stress_figure as stress_figure
    from credit_models.models.calibration import ProbabilityCalibrator as ProbabilityCalibrator
    from credit_models.models.pd_model import PdModel as PdModel
    from credit_models.models.scorecard import WoeScorecard as WoeScorecard
    from credit_models.models.settings import ModelSettings as ModelSettings
    from credit_models.models.xgb_pd import model_inputs as model_inputs
    from credit_models.reporting.limits_report import closed_loop_figure as closed_loop_figure
    from credit_models.reporting.limits_report import (
        limits_by_band_figure as limits_by_band_figure,
    )
    from credit_models.reporting.pd_report import pd_validation_report as pd_validation_report
    from credit_models.reporting.portfolio_plots import (
        monthly_volume_plot as monthly_volume_plot,
    )
    from credit_models.reporting.portfolio_plots import roll_rate_heatmap as roll_rate_heatmap
    from credit_models.reporting.portfolio_plots import (
        vintage_curves_plot as vintage_curves_plot,
    )
    from credit_models.reporting.validation_report import ValidationInputs as ValidationInputs
    from credit_models.reporting.validation_report import (
        build_validation_report as build_validation_report,
    )
    from credit_models.split.factory import SplitSettings as SplitSettings
    from credit_models.tracking.pd_run import log_pd_run as log_pd_run
    from credit_models.workflows.distributed.cluster import open_cluster as open_cluster
    from credit_models.workflows.distributed.partitions import (
        check_customer_partitioning as check_customer_partitioning,
    )
    from credit_models.workflows.distributed.partitions import (
        open_partitioned_dataset as open_partitioned_dataset,
    )
    from credit_models.workflows.distributed.partitions import (
        repartition_dataset as repartition_dataset,
    )
    from credit_models.workflows.limits import run_limits as run_limits
    from credit_models.workflows.pd_training import train_pd_model as train_pd_model
    from credit_models.workflows.portfolio_description import (
        PortfolioDescriptionSettings as PortfolioDescriptionSettings,
    )
    from credit_models.workflows.portfolio_description import (
        describe_portfolio as describe_portfolio,
    )
    from credit_models.workflows.settings import TrainSettings as TrainSettings
    from credit_models.workflows.settings import settings_dict as settings_dict
