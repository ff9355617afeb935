"""Backtest of limit policies on history: the months after the portfolio's snapshot replayed under
the limits the customers actually had, under the configured policy, and under a sweep of policy
settings (the frontier of declined orders against expected loss).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from credit_models.limits.backtest_metrics import backtest_metrics, policy_comparison
from credit_models.limits.decisions import LimitDecisions, decide_limits
from credit_models.limits.policy import LimitPolicy, TargetMethod
from credit_models.limits.promotion import next_window
from credit_models.limits.replay import (
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


@dataclass(frozen=True)
class PolicyRun:
    """What is needed to decide limits again under another setting."""

    portfolio: pd.DataFrame
    levels: tuple[float, ...]
    as_of: pd.Timestamp
    pd_horizon_months: int

    def decide(self, policy: LimitPolicy) -> LimitDecisions:
        return decide_limits(self.portfolio, policy, self.levels, self.as_of,
                             self.pd_horizon_months)


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

    def measure(schedule: pd.DataFrame, limit: pd.Series) -> dict[str, float]:
        replayed = replay(demand, repaid, schedule, opening)
        book = pd.DataFrame({"limit": limit, "balance": opening, "pd": run.portfolio["pd"],
                             "lgd": policy.lgd, "is_bad": run.portfolio["is_bad"]})
        return backtest_metrics(replayed, book, windows, policy.ccf)

    def policy_schedule(decided: LimitDecisions) -> tuple[pd.DataFrame, pd.Series]:
        limit = decided.customers["new_limit"]
        promotions = decided.promotions[decided.promotions["eligible"]]
        promotions = promotions.reset_index().rename(columns={"expires_at": "ends_at"})[
            ["customer_id", "starts_at", "ends_at", "extra"]]
        return static_schedule(limit, start, promotions), limit

    observed = observed_schedule(tables["limit_events"], start, end)
    held = run.portfolio["current_limit"]
    results = {CURRENT: measure(observed[observed["customer_id"].isin(customers)], held),
               CURRENT_HELD: measure(static_schedule(held, start), held),
               POLICY: measure(*policy_schedule(decisions))}
    families = {CURRENT: CURRENT, CURRENT_HELD: CURRENT, POLICY: policy.method.value}
    for label, (family, setting) in sweep.items():
        results[label] = measure(*policy_schedule(run.decide(setting)))
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
    return BacktestResult(comparison, frontier, start, end)


def beats(comparison: pd.DataFrame, baseline: str, label: str = POLICY) -> bool:
    """Lower expected loss at an equal or lower declined-order rate than ``baseline``."""
    current, candidate = comparison.loc[baseline], comparison.loc[label]
    return bool(candidate["expected_loss"] < current["expected_loss"]
                and candidate["declined_order_rate"] <= current["declined_order_rate"])
