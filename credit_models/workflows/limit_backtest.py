"""Backtest of limit policies on history: the months after the portfolio's snapshot replayed under
the limits the customers actually had, under the configured policy, and under a sweep of policy
settings (the frontier of declined orders against expected loss).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from credit_models.limits.backtest_metrics import backtest_metrics, policy_comparison
from credit_models.limits.decisions import LimitDecisions, decide_limits
from credit_models.limits.policy import LimitPolicy, TargetMethod
from credit_models.limits.promotion import next_window
from credit_models.limits.replay import (
    Replay,
    demand_events,
    observed_schedule,
    opening_balance,
    repayment_events,
    replay,
    static_schedule,
)

logger = logging.getLogger("credit_models.limits")

CURRENT = "current"
"""The limits customers actually had, changes inside the window included (the simulator's or the
lender's own raises, campaign limits and cuts)."""
CURRENT_HELD = "current_held"
"""The limits in force at the snapshot, held through the window: replayed under the same
assumptions as every candidate (no review inside the window), so the fair baseline."""
POLICY = "policy"


@dataclass(frozen=True)
class BacktestResult:
    comparison: pd.DataFrame
    """One row per policy (``current``, ``current_held``, ``policy``, then the sweep)."""
    frontier: pd.DataFrame
    """label, family, declined_order_rate, expected_loss per policy setting."""
    start: pd.Timestamp
    end: pd.Timestamp
    campaigns: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=dict)
    """The campaign windows inside the backtest window, whose declines are counted apart."""
    schedules: dict[str, pd.DataFrame] = field(default_factory=dict)
    """The limit schedule each headline policy was replayed under (``current`` is the observed
    one): what a closed-loop simulation applies to measure the replay's bias."""


@dataclass(frozen=True)
class PolicyRun:
    """What is needed to decide limits again under another setting."""

    portfolio: pd.DataFrame
    levels: tuple[float, ...]
    as_of: pd.Timestamp
    pd_horizon_months: int
    monthly_scores: pd.DataFrame | None = None
    """PD, capacity quantiles and ``months_since_delinquency`` of the portfolio's customers at
    each month start of the backtest window (columns customer_id, as_of, …), from features of the
    history up to that month: lets the replay review limits every month, as a lender would."""

    def decide(self, policy: LimitPolicy, shadow_price: float | None = None) -> LimitDecisions:
        return decide_limits(self.portfolio, policy, self.levels, self.as_of,
                             self.pd_horizon_months, shadow_price=shadow_price)


def sweep_policies(policy: LimitPolicy, budgets: Sequence[float],
                   tier_scales: Sequence[float]) -> dict[str, tuple[str, LimitPolicy]]:
    """Label → (family, policy): the optimum at each EL budget, the tiers at each scale of
    their multipliers."""
    policies: dict[str, tuple[str, LimitPolicy]] = {}
    for budget in budgets:
        optimum = dataclasses.replace(policy.optimum, expected_loss_budget=float(budget))
        policies[f"optimum_el{budget:g}"] = ("optimum", dataclasses.replace(
            policy, method=TargetMethod.optimum, optimum=optimum))
    for scale in tier_scales:
        multipliers = tuple(tuple(value * scale for value in row)
                            for row in policy.tiers.multipliers)
        tiers = dataclasses.replace(policy.tiers, multipliers=multipliers)
        policies[f"tiers_x{scale:g}"] = ("tiers", dataclasses.replace(
            policy, method=TargetMethod.tiers, tiers=tiers))
    return policies


def _promotion_rows(decided: LimitDecisions, before: pd.Timestamp) -> pd.DataFrame:
    """The eligible campaign limits that start before ``before``, as schedule promotions."""
    promotions = decided.promotions[decided.promotions["eligible"]
                                    & (decided.promotions["starts_at"] < before)]
    return promotions.reset_index().rename(columns={"expires_at": "ends_at"})[
        ["customer_id", "starts_at", "ends_at", "extra"]]


def _combine(parts: list[Replay]) -> Replay:
    """One replay from consecutive segments of the same customers."""
    customers = pd.concat([part.customers for part in parts], keys=range(len(parts)))
    by_customer = customers.groupby(level=1)
    return Replay(
        orders=pd.concat([part.orders for part in parts], ignore_index=True),
        customers=pd.DataFrame({
            "peak_balance": by_customer["peak_balance"].max(),
            "end_balance": by_customer["end_balance"].last(),
            "mean_utilisation": by_customer["mean_utilisation"].mean(),
        }),
    )


def replay_with_reviews(run: PolicyRun, policy: LimitPolicy, first: LimitDecisions,
                        demand: pd.DataFrame, repaid: pd.DataFrame, opening: pd.Series,
                        end: pd.Timestamp) -> tuple[Replay, pd.DataFrame]:
    """The policy run as a lender runs it: limits decided at the snapshot and reviewed at every
    month start after it (guardrails, campaign limits and all), each month replayed from the
    balance the previous one left. The review sees its own limits, raises and balances, and the
    PD and capacity scored on the history to that month (the observed one: how customers would
    have behaved under other limits is not modelled). The EL budget's price is the one found at
    the snapshot, as in serving. Returns the replay and the limit schedule of the whole window."""
    scores = run.monthly_scores
    customers = run.portfolio.index
    price = first.shadow_price
    starts = sorted(t for t in scores["as_of"].unique() if run.as_of < t < end)
    limit = run.portfolio["current_limit"]
    since_raise = run.portfolio["months_since_raise"]
    balance, decided, parts, schedules = opening, first, [], []
    for segment_start, segment_end in zip([run.as_of, *starts], [*starts, end], strict=True):
        if segment_start > run.as_of:
            month = scores[scores["as_of"] == segment_start].set_index("customer_id")
            portfolio = month.drop(columns="as_of").reindex(customers).assign(
                current_limit=limit, balance=balance, months_since_raise=since_raise)
            decided = decide_limits(portfolio, policy, run.levels, segment_start,
                                    run.pd_horizon_months, shadow_price=price)
        actions = decided.customers["action"]
        limit = decided.customers["new_limit"]
        since_raise = (since_raise + 1).mask(actions.isin(["raise", "grant"]), 0.0)
        in_segment = demand["at"].between(segment_start, segment_end, inclusive="left")
        repaid_in = repaid["at"].between(segment_start, segment_end, inclusive="left")
        schedule = static_schedule(limit, segment_start, _promotion_rows(decided, segment_end))
        part = replay(demand[in_segment], repaid[repaid_in], schedule, balance)
        parts.append(part)
        schedules.append(schedule[schedule["starts_at"] < segment_end])
        balance = part.customers["end_balance"].reindex(customers).fillna(balance)
    return _combine(parts), pd.concat(schedules, ignore_index=True)


def backtest_policies(tables: Mapping[str, pd.DataFrame], extraction_date: pd.Timestamp,
                      run: PolicyRun, decisions: LimitDecisions, policy: LimitPolicy, months: int,
                      sweep: Mapping[str, tuple[str, LimitPolicy]]) -> BacktestResult:
    started = time.perf_counter()
    start = run.as_of
    end = min(start + pd.DateOffset(months=months), extraction_date)
    customers = run.portfolio.index
    orders, repayments = tables["orders"], tables["repayments"]
    demand = demand_events(orders, tables.get("declines"), start, end)
    demand = demand[demand["customer_id"].isin(customers)]
    repaid = repayment_events(repayments, start, end)
    repaid = repaid[repaid["customer_id"].isin(customers)]
    opening = opening_balance(orders, repayments, start).reindex(customers, fill_value=0.0)
    windows = {}
    for window in policy.promotion.windows:
        window_start, window_end = next_window(window, start)
        if window_start < end:
            windows[window.name] = (window_start, window_end)

    def book(limit: pd.Series) -> pd.DataFrame:
        return pd.DataFrame({"limit": limit, "balance": opening, "pd": run.portfolio["pd"],
                             "lgd": policy.lgd, "is_bad": run.portfolio["is_bad"]})

    schedules: dict[str, pd.DataFrame] = {}

    def measure(label: str, schedule: pd.DataFrame, limit: pd.Series,
                replayed: Replay | None = None) -> dict[str, float]:
        schedules[label] = schedule
        replayed = replayed or replay(demand, repaid, schedule, opening)
        return backtest_metrics(replayed, book(limit), windows, policy.ccf)

    def measure_policy(label: str, setting: LimitPolicy,
                       decided: LimitDecisions | None = None) -> dict[str, float]:
        decided = decided or run.decide(setting)
        limit = decided.customers["new_limit"]
        if run.monthly_scores is not None:
            replayed, schedule = replay_with_reviews(run, setting, decided, demand, repaid,
                                                     opening, end)
            return measure(label, schedule, limit, replayed)
        return measure(label, static_schedule(limit, start, _promotion_rows(decided, end)), limit)

    observed = observed_schedule(tables["limit_events"], start, end)
    held = run.portfolio["current_limit"]
    results = {CURRENT: measure(CURRENT, observed[observed["customer_id"].isin(customers)], held),
               CURRENT_HELD: measure(CURRENT_HELD, static_schedule(held, start), held),
               POLICY: measure_policy(POLICY, policy, decisions)}
    families = {CURRENT: CURRENT, CURRENT_HELD: CURRENT_HELD, POLICY: policy.method.value}
    for label, (family, setting) in sweep.items():
        results[label] = measure_policy(label, setting)
        families[label] = family
    comparison = policy_comparison(results)
    frontier = pd.DataFrame({
        "label": comparison.index, "family": [families[label] for label in comparison.index],
        "declined_order_rate": comparison["declined_order_rate"].to_numpy(),
        "expected_loss": comparison["expected_loss"].to_numpy(),
    })
    logger.info("backtest %s → %s: %d policies replayed over %s demand events in %.1fs",
                start.date(), end.date(), len(results), f"{len(demand):,}",
                time.perf_counter() - started)
    headline = {label: schedules[label] for label in (CURRENT, CURRENT_HELD, POLICY)}
    return BacktestResult(comparison, frontier, start, end, windows, headline)


def beats(comparison: pd.DataFrame, baseline: str, label: str = POLICY) -> bool:
    """Lower expected loss at an equal or lower declined-order rate than ``baseline``."""
    current, candidate = comparison.loc[baseline], comparison.loc[label]
    return bool(candidate["expected_loss"] < current["expected_loss"]
                and candidate["declined_order_rate"] <= current["declined_order_rate"])
