"""The credit-limit path end to end, with no Hydra or MLflow in sight: data → PD model (the PD
training workflow's own steps) → capacity model → limit policy on the evaluation split's customers
→ reasons and fairness review → backtest against the current limits → stress test, returned as one
:class:`LimitRun` that tracking logs and the job summarises.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from credit_models.errors import ConfigError
from credit_models.evaluation.fairness import FairnessReview
from credit_models.explain.local_explanations import explain_rows
from credit_models.explain.reason_codes import ReasonDictionary, reference_values
from credit_models.features.sensitive import SensitiveAttributes
from credit_models.limits.decisions import LANGUAGES, LimitDecisions, load_policy
from credit_models.limits.policy import LimitPolicy
from credit_models.limits.recourse import RECOURSE_CODES, limit_recourse
from credit_models.limits.stress import stress_test
from credit_models.split.names import DEVELOPMENT
from credit_models.workflows.closed_loop import (
    ClosedLoopResult,
    challenger_schedules,
    closed_loop_check,
    closed_loop_metrics,
)
from credit_models.workflows.limit_backtest import (
    CURRENT,
    CURRENT_HELD,
    POLICY,
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
    fit_and_evaluate,
    prepare_pd_training,
    review_fairness,
    timed_stage,
)
from credit_models.workflows.scoring import ScoringModel
from credit_models.workflows.settings import EngineKind, LimitsSettings
from credit_models.workflows.training_data import Stage, TrainingData

logger = logging.getLogger("credit_models.limits")

LIMIT_COLUMNS = ("current_limit", "target_limit", "new_limit")
"""The limits compared band by band: granted, the policy's target, after the review."""
BACKTEST_SHOWN = ["average_limit", "expected_loss", "realised_loss", "declined_order_rate"]
"""The backtest's headline columns (log and console)."""
BACKTEST_LOGGED = ("average_limit", "ead", "expected_loss", "realised_loss", "approval_rate",
                   "utilisation", "declined_order_rate", "declined_amount_rate")


@dataclass(frozen=True)
class LimitRun:
    """Everything the limits path produced, for logging and for the console summary."""

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
    sensitive: SensitiveAttributes
    """The attributes never given as reasons (nor used by the model, when so configured)."""
    recourse: pd.DataFrame
    """Per customer, what would change the decision into a raise
    (:func:`~credit_models.limits.recourse.limit_recourse`): ``recourse == "raised"`` for those
    already raised."""
    closed_loop: ClosedLoopResult | None = None
    """On a simulated portfolio, the backtest window simulated again under each headline
    policy, beside the replay's estimates (``backtest.closed_loop``)."""

    @property
    def evaluation_split(self) -> str:
        return self.data.splitter.evaluation_split

    @property
    def snapshot_features(self) -> pd.DataFrame:
        """Every feature of the portfolio's customers at the snapshot (index customer_id): what
        a served credit-limit model is fed."""
        rows = portfolio_rows(self.data, self.portfolio.attrs["as_of"])
        return self.table.all_inputs[rows].set_axis(self.portfolio.index)

    def backtest_headline(self) -> pd.DataFrame:
        """Current limits, current limits held and the policy, on the headline columns."""
        assert self.backtest is not None
        return self.backtest.comparison.loc[[CURRENT, CURRENT_HELD, POLICY], BACKTEST_SHOWN]


def portfolio_rows(data: TrainingData, as_of: pd.Timestamp) -> pd.Series:
    """The modelling-table rows of the policy's portfolio: the evaluation split at the snapshot,
    in the portfolio's order."""
    return (data.split == data.splitter.evaluation_split) & (data.labelled["as_of"] == as_of)


def check_limits(settings: LimitsSettings) -> LimitPolicy:
    """What the settings classes leave to this path, checked before any data are read: the
    policy's rules (bands tiling, floor <= ceiling, a text per reason code, the capacity levels it
    reads) and the reasons' language. Returns the parsed policy."""
    if settings.limits.language not in LANGUAGES:
        raise ConfigError(f"limits.language must be one of {list(LANGUAGES)}; got "
                          f"{settings.limits.language!r}")
    return load_policy(dataclasses.asdict(settings.policy), settings.capacity.quantiles)


def run_limits(settings: LimitsSettings, stage: Stage | None = None,
               challengers: Mapping[str, ScoringModel] | None = None) -> LimitRun:
    """The whole limits path; ``stage`` reports progress (default: timed log lines).
    ``challengers`` (label → a served credit-limit model) decide the snapshot's customers, and
    the closed loop simulates their limits beside the headline policies."""
    stage = stage or timed_stage(logger)
    policy = check_limits(settings)
    levels = settings.capacity.quantiles
    horizon = settings.labels.performance_months
    seed = settings.seed
    chunk_customers, workers = settings.engine.chunk_customers, settings.engine.workers
    if settings.engine.kind is EngineKind.dask:
        raise ConfigError(
            "engine=dask is not supported by the limits job yet (its backtest replays every "
            "customer's events in one process): use engine=local (engine.workers sets its "
            "processes)")
    options, backtest_settings = settings.limits, settings.backtest
    sensitive = settings.fairness.sensitive

    prepared = prepare_pd_training(settings, stage)
    data, table = prepared.data, prepared.table
    evaluated = fit_and_evaluate(table, settings.model, seed, data, refit=settings.refit)
    test_split = data.splitter.evaluation_split
    stage("PD model: %s AUC %.4f", test_split, evaluated.metrics[f"{test_split}/auc"])

    capacity_rows = capacity_table(data, settings.labels.capacity, list(options.capacity_as_of),
                                   chunk_customers, seed, workers)
    segments = next((capacity_rows.inputs[column] for column in settings.report.segment_columns
                     if column in capacity_rows.inputs), None)
    capacity = fit_capacity(capacity_rows, settings.capacity, seed, segments)
    stage("capacity model: %s", ", ".join(
        f"{key.split('/', 2)[-1]} {value:.3f}" for key, value in capacity.metrics.items()
        if key.startswith(f"capacity/{capacity_rows.evaluation_split}/")
        and not key.endswith("rows")))

    as_of = pd.Timestamp(options.as_of, tz="UTC") if options.as_of else None
    portfolio = portfolio_at(data, evaluated.model, capacity.model, options.account, as_of)
    as_of = portfolio.attrs["as_of"]
    orders = data.dataset.tables.get("orders")
    replayable = orders is not None and not orders.empty
    backtest_end = min(as_of + pd.DateOffset(months=backtest_settings.months),
                       data.dataset.extraction_date)
    monthly = (monthly_scores(data, evaluated.model, capacity.model, options.account,
                              portfolio.index, as_of, backtest_end, chunk_customers,
                              workers)
               if replayable and backtest_settings.monthly_review else None)
    run = PolicyRun(portfolio, levels, as_of, horizon, monthly)
    decisions = run.decide(policy)
    stage("policy %s on %s customers at %s: %s", policy.name, f"{len(portfolio):,}",
          as_of.date(), decisions.customers["action"].value_counts().to_dict())

    recourse = limit_recourse(portfolio, policy, levels, as_of, horizon,
                              shadow_price=decisions.shadow_price)
    stage("recourse for the limits not raised: %s",
          recourse["recourse"][recourse["recourse"] != "raised"].value_counts().to_dict())

    rows = portfolio_rows(data, as_of)
    explained = explain_rows(
        evaluated.model, table.inputs[rows], ReasonDictionary.default(),
        top_k=options.top_reasons, language=options.language,
        descriptions=data.features.descriptions,
        reference=reference_values(table.inputs[data.split == DEVELOPMENT]), sensitive=sensitive,
    ).wide()
    reasons = explained.filter(regex=r"^reason_").set_axis(portfolio.index)
    fairness = review_fairness(
        settings.fairness, decisions.customers["pd"].to_numpy(), table.all_inputs[rows],
        evaluated.model.feature_names_in_, is_bad=decisions.customers["is_bad"].to_numpy(),
        limit=decisions.customers["new_limit"].to_numpy())

    by_band = limits_by_pd_band(decisions.customers, list(LIMIT_COLUMNS))
    backtest = None
    if replayable:
        sweep = backtest_settings.sweep
        backtest = backtest_policies(
            data.dataset.tables, data.dataset.extraction_date, run, decisions, policy,
            backtest_settings.months,
            sweep_policies(policy, sweep.expected_loss_budget, sweep.tier_scale))
        stage("backtest %s → %s:\n%s", backtest.start.date(), backtest.end.date(),
              console_table(backtest.comparison.loc[[CURRENT, CURRENT_HELD, POLICY],
                                                    BACKTEST_SHOWN]))
    else:
        stage("backtest skipped: the data set has no orders to replay")
    closed_loop = None
    if backtest is not None and backtest_settings.closed_loop:
        schedules = challenger_schedules(
            challengers or {}, table.all_inputs[rows].set_axis(portfolio.index), as_of)
        closed_loop = closed_loop_check(data.dataset.manifest, backtest, portfolio.index,
                                        schedules)
    if closed_loop is not None:
        stage("closed loop %s → %s (the window simulated again under each policy):\n%s\n"
              "replay bias (replay − closed loop):\n%s", backtest.start.date(),
              backtest.end.date(), console_table(closed_loop.comparison[closed_loop.shown]),
              closed_loop.bias_shown().to_string())
    stress = stress_test(portfolio, decisions.customers["new_limit"], policy, settings.stress,
                         levels, as_of, horizon)
    stage("stress test:\n%s", console_table(stress[["mean_pd", "expected_loss",
                                                    "capital_at_risk", "cuts"]]))

    metrics = {**evaluated.metrics, **capacity.metrics, **policy_metrics(decisions),
               **backtest_metrics(backtest), **stress_metrics(stress),
               **fairness_metrics(fairness), **recourse_metrics(recourse),
               **closed_loop_metrics(closed_loop)}
    return LimitRun(data, table, evaluated, capacity, portfolio, decisions, reasons, by_band,
                    backtest, stress, metrics, fairness, sensitive, recourse, closed_loop)


def recourse_metrics(recourse: pd.DataFrame) -> dict[str, float]:
    """Share of the customers not raised by what would change their answer."""
    held = recourse["recourse"][recourse["recourse"] != "raised"]
    shares = held.value_counts(normalize=True)
    return {"recourse/not_raised": float(len(held)),
            **{f"recourse/{code}_share": float(shares.get(code, 0.0))
               for code in RECOURSE_CODES if code != "raised"}}


def policy_metrics(decisions: LimitDecisions) -> dict[str, float]:
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


def fairness_metrics(review: FairnessReview) -> dict[str, float]:
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


COUNT_COLUMNS = frozenset({"cuts", "customers", "orders"})
"""Console columns that count things: shown as whole numbers."""
SHARE_COLUMNS = frozenset({"mean_pd"})
"""Console columns that are shares without ``_rate`` / ``_share`` in their name."""


def console_table(table: pd.DataFrame) -> str:
    """``table`` as the console shows it: counts as integers and amounts with thousands
    separators, rates and shares as percentages (a raw ``1.591683e+06`` reads as nothing)."""

    def shown(column: str, value: object) -> str:
        if pd.isna(value):
            return "–"
        number = float(value)
        if column in COUNT_COLUMNS:
            return f"{round(number):,}"
        measure = column.split("/")[0]  # declined_order_rate/618: a rate in a window
        share = measure in SHARE_COLUMNS or measure.endswith(("_rate", "_share"))
        if share or column == "utilisation":
            return f"{100 * number:.2f} %"
        return f"{number:,.0f}"

    return table.apply(lambda values: [shown(str(values.name), value) for value in values]
                       ).to_string()


def backtest_metrics(backtest: BacktestResult | None) -> dict[str, float]:
    if backtest is None:
        return {}
    comparison = backtest.comparison
    metrics = {
        f"backtest/{label}/{name}": float(comparison.loc[label, name])
        for label in (CURRENT, CURRENT_HELD, POLICY)
        for name in comparison.columns
        if name in BACKTEST_LOGGED or name.startswith("declined_order_rate/")
    }
    metrics["backtest/policy_beats_current_held"] = float(beats(comparison, CURRENT_HELD))
    metrics["backtest/policy_beats_current"] = float(beats(comparison, CURRENT))
    return metrics


def stress_metrics(stress: pd.DataFrame) -> dict[str, float]:
    return {f"stress/{scenario}/{name}": float(stress.loc[scenario, name])
            for scenario in stress.index
            for name in ("expected_loss", "capital_at_risk", "cuts", "limit_cut")}
