"""`credit-models-limits`: data → PD model → capacity model → limit policy on the evaluation
split's customers → backtest against the current limits → stress test → one MLflow run, with PD,
capacity and policy registered together as the credit-decision model.

Every setting (model, capacity, policy, stress, account features) is checked before any data are
read; the job only wires stages that know nothing of Hydra or MLflow.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from credit_models.config.schema import register_configs
from credit_models.errors import ConfigError
from credit_models.evaluation.fairness import FairnessReview
from credit_models.explain.local_explanations import explain_rows
from credit_models.explain.reason_codes import ReasonDictionary, reference_values
from credit_models.features.selection_config import SelectionConfig
from credit_models.features.sensitive import SensitiveAttributes
from credit_models.labels.capacity_target import CapacityDefinition
from credit_models.limits.account_facts import AccountFeatures
from credit_models.limits.capacity_model import CapacitySettings
from credit_models.limits.decisions import LANGUAGES, LimitDecisions, load_policy
from credit_models.limits.policy import LimitPolicy
from credit_models.limits.stress import StressSettings, stress_test
from credit_models.models.pd_model import ModelSettings
from credit_models.jobs.runner import job_entry
from credit_models.workflows.limit_backtest import (
    CURRENT,
    CURRENT_HELD,
    BacktestResult,
    PolicyRun,
    backtest_policies,
    beats,
    sweep_policies,
)
from credit_models.workflows.limit_training import (
    FittedCapacity,
    capacity_table,
    fit_capacity,
    limits_by_pd_band,
    monthly_scores,
    portfolio_at,
)
from credit_models.workflows.pd_training import (
    EvaluatedModel,
    ModellingTable,
    check_calibration_split,
    fit_and_evaluate,
    modelling_table,
    review_fairness,
)
from credit_models.workflows.training_data import TrainingData, assemble_training_data
from credit_models.split.factory import build_splitter
from credit_models.split.names import DEVELOPMENT
from credit_models.tracking.limit_run import log_limit_run
from credit_models.tracking.mlflow_tracking import resolve_tracking_uri

logger = logging.getLogger("credit_models.limits")


@dataclass(frozen=True)
class LimitSettings:
    """Every setting of the job, validated together before any data are read."""

    model: ModelSettings
    capacity: CapacitySettings
    capacity_target: CapacityDefinition
    policy: LimitPolicy
    stress: StressSettings
    account: AccountFeatures

    @classmethod
    def from_config(cls, cfg: DictConfig) -> LimitSettings:
        def plain(node: Any) -> Any:
            return OmegaConf.to_container(node, resolve=True, enum_to_str=True)

        capacity_raw = {key: value for key, value in plain(cfg.capacity).items()
                        if key != "name"}
        capacity = CapacitySettings.from_config(capacity_raw)
        if cfg.limits.language not in LANGUAGES:
            raise ConfigError(f"limits.language must be one of {list(LANGUAGES)}; got "
                              f"{cfg.limits.language!r}")
        return cls(
            model=ModelSettings.from_config(plain(cfg.model)),
            capacity=capacity,
            capacity_target=CapacityDefinition(**plain(cfg.labels.capacity)),
            policy=load_policy(plain(cfg.policy), capacity.quantiles),
            stress=StressSettings.from_config(plain(cfg.stress)),
            account=AccountFeatures.from_config(plain(cfg.limits.account)),
        )


@dataclass(frozen=True)
class LimitRun:
    """Everything the job produced, for logging and for the console summary."""

    data: TrainingData
    table: ModellingTable
    pd_model: EvaluatedModel
    capacity: FittedCapacity
    portfolio: pd.DataFrame
    decisions: LimitDecisions
    reasons: pd.DataFrame
    by_band: pd.DataFrame
    backtest: BacktestResult | None
    stress: pd.DataFrame
    metrics: dict[str, float]
    fairness: FairnessReview
    """Approval and recommended limit by sensitive group, on the policy's customers."""


def run_limits(cfg: DictConfig) -> LimitRun:
    started = time.perf_counter()

    def stage(message: str, *args: Any) -> None:
        logger.info("[%6.1fs] " + message, time.perf_counter() - started, *args)

    settings = LimitSettings.from_config(cfg)
    selector = SelectionConfig(**OmegaConf.to_container(cfg.selection)).build()
    splitter = build_splitter(OmegaConf.to_container(cfg.split, enum_to_str=True), cfg.seed)
    check_calibration_split(settings.model, splitter.periods)
    levels = settings.capacity.quantiles
    horizon = int(cfg.labels.performance_months)

    data = assemble_training_data(cfg, stage)
    sensitive = SensitiveAttributes.from_config(cfg.fairness)
    table = modelling_table(data, selector, cfg.select_features, sensitive)
    evaluated = fit_and_evaluate(table, settings.model, cfg.seed, data)
    test_split = data.splitter.evaluation_split
    stage("PD model: %s AUC %.4f", test_split, evaluated.metrics[f"{test_split}/auc"])

    capacity_rows = capacity_table(data, settings.capacity_target, list(cfg.limits.capacity_as_of),
                                   cfg.engine.chunk_customers, cfg.seed)
    segments = next((capacity_rows.inputs[column] for column in cfg.report.segment_columns
                     if column in capacity_rows.inputs), None)
    capacity = fit_capacity(capacity_rows, settings.capacity, cfg.seed, segments)
    stage("capacity model: %s", ", ".join(
        f"{key.split('/', 2)[-1]} {value:.3f}" for key, value in capacity.metrics.items()
        if key.startswith(f"capacity/{capacity_rows.evaluation_split}/")
        and not key.endswith("rows")))

    as_of = pd.Timestamp(cfg.limits.as_of, tz="UTC") if cfg.limits.as_of else None
    portfolio = portfolio_at(data, evaluated.model, capacity.model, settings.account, as_of)
    as_of = portfolio.attrs["as_of"]
    orders = data.dataset.tables.get("orders")
    replayable = orders is not None and not orders.empty
    backtest_end = min(as_of + pd.DateOffset(months=cfg.backtest.months),
                       data.dataset.extraction_date)
    monthly = (monthly_scores(data, evaluated.model, capacity.model, settings.account,
                              portfolio.index, as_of, backtest_end, cfg.engine.chunk_customers)
               if replayable and cfg.backtest.monthly_review else None)
    run = PolicyRun(portfolio, levels, as_of, horizon, monthly)
    decisions = run.decide(settings.policy)
    stage("policy %s on %s customers at %s: %s", settings.policy.name, f"{len(portfolio):,}",
          as_of.date(), decisions.customers["action"].value_counts().to_dict())

    rows = (data.split == test_split) & (data.labelled["as_of"] == as_of)
    explained = explain_rows(
        evaluated.model, table.inputs[rows], ReasonDictionary.default(),
        top_k=cfg.limits.top_reasons, language=cfg.limits.language,
        descriptions=data.features.descriptions,
        reference=reference_values(table.inputs[data.split == DEVELOPMENT]), sensitive=sensitive,
    ).wide()
    reasons = explained.filter(regex=r"^reason_").set_axis(portfolio.index)
    fairness = review_fairness(
        cfg.fairness, decisions.customers["pd"].to_numpy(), table.all_inputs[rows],
        evaluated.model.features, is_bad=decisions.customers["is_bad"].to_numpy(),
        limit=decisions.customers["new_limit"].to_numpy())

    by_band = limits_by_pd_band(decisions.customers, ["current_limit", "target_limit",
                                                      "new_limit"])
    backtest = None
    if replayable:
        backtest = backtest_policies(
            data.dataset.tables, data.dataset.extraction_date, run, decisions, settings.policy,
            cfg.backtest.months,
            sweep_policies(settings.policy, cfg.backtest.sweep.expected_loss_budget,
                           cfg.backtest.sweep.tier_scale))
        stage("backtest %s → %s:\n%s", backtest.start.date(), backtest.end.date(),
              backtest.comparison.loc[[CURRENT, CURRENT_HELD, "policy"],
                                      ["average_limit", "expected_loss", "realised_loss",
                                       "declined_order_rate"]].to_string())
    else:
        stage("backtest skipped: the data set has no orders to replay")
    stress = stress_test(portfolio, decisions.customers["new_limit"], settings.policy,
                         settings.stress, levels, as_of, horizon)
    stage("stress test:\n%s", stress[["mean_pd", "expected_loss", "capital_at_risk",
                                      "cuts"]].to_string())

    metrics = {**evaluated.metrics, **capacity.metrics, **_policy_metrics(decisions),
               **_backtest_metrics(backtest), **_stress_metrics(stress),
               **_fairness_metrics(fairness)}
    return LimitRun(data, table, evaluated, capacity, portfolio, decisions, reasons, by_band,
                    backtest, stress, metrics, fairness)


def _policy_metrics(decisions: LimitDecisions) -> dict[str, float]:
    customers = decisions.customers
    actions = customers["action"].value_counts(normalize=True)
    return {
        "policy/customers": float(len(customers)),
        "policy/mean_target_limit": float(customers["target_limit"].mean()),
        "policy/mean_new_limit": float(customers["new_limit"].mean()),
        "policy/mean_current_limit": float(customers["current_limit"].mean()),
        "policy/shadow_price": float(decisions.shadow_price),
        **{f"policy/share_{action}": float(share) for action, share in actions.items()},
        "policy/promotion_eligible": float(decisions.promotions["eligible"].mean()),
    }


def _fairness_metrics(review: FairnessReview) -> dict[str, float]:
    """The worst group's approval and limit ratios over every sensitive feature, and how many
    groups the four-fifths rule flags; none when no sensitive feature is in the data."""
    groups = review.groups
    if groups.empty:
        return {}
    return {
        "fairness/min_approval_ratio": float(groups["approval_ratio"].min()),
        "fairness/min_limit_ratio": float(groups["limit_ratio"].min()),
        "fairness/adverse_impact_groups": float(groups["adverse_impact"].sum()),
    }


BACKTEST_LOGGED = ("average_limit", "ead", "expected_loss", "realised_loss", "approval_rate",
                   "utilisation", "declined_order_rate", "declined_amount_rate")


def _backtest_metrics(backtest: BacktestResult | None) -> dict[str, float]:
    if backtest is None:
        return {}
    comparison = backtest.comparison
    metrics = {
        f"backtest/{label}/{name}": float(comparison.loc[label, name])
        for label in (CURRENT, CURRENT_HELD, "policy")
        for name in comparison.columns
        if name in BACKTEST_LOGGED or name.startswith("declined_order_rate/")
    }
    metrics["backtest/policy_beats_current_held"] = float(beats(comparison, CURRENT_HELD))
    metrics["backtest/policy_beats_current"] = float(beats(comparison, CURRENT))
    return metrics


def _stress_metrics(stress: pd.DataFrame) -> dict[str, float]:
    return {f"stress/{scenario}/{name}": float(stress.loc[scenario, name])
            for scenario in stress.index
            for name in ("expected_loss", "capital_at_risk", "cuts", "limit_cut")}


def summary_lines(run: LimitRun, run_id: str, version: str | None, tracking_uri: str) -> str:
    metrics = run.metrics
    lines = ["", run.by_band[["customers", "mean_pd", "current_limit_mean",
                              "new_limit_mean"]].round(3).to_string()]
    if run.backtest is not None:
        lines.append(run.backtest.comparison.loc[
            [CURRENT, CURRENT_HELD, "policy"],
            ["average_limit", "expected_loss", "realised_loss", "declined_order_rate"]
        ].to_string())
    lines.append(f"MLflow run {run_id}" + (f", registered version {version}" if version else ""))
    lines.append(f"Look at it with:  mlflow ui --backend-store-uri {tracking_uri}")
    evaluation = run.data.splitter.evaluation_split
    lines.insert(1, f"PD {evaluation.upper()} AUC {metrics[f'{evaluation}/auc']:.4f}")
    return "\n".join(lines) + "\n"


register_configs()


@job_entry("limits")
def main(cfg: DictConfig) -> None:
    tracking_uri = resolve_tracking_uri(cfg.mlflow.tracking_uri, Path.cwd())
    run = run_limits(cfg)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(cfg.mlflow.experiment_name)
    logged = log_limit_run(cfg, run)
    print(summary_lines(run, logged.run_id, logged.registered_version, tracking_uri))


if __name__ == "__main__":
    main()
