"""The target (permanent) limit per customer, by tiers or by the risk-based optimum, with the rule
that bound it — the first half of the answer to "why is my limit what it is".

Binding rules (codes): ``pd_above_max`` (no line at this PD), ``pd_band`` (the tier matrix grants
no line in this PD band), ``unprofitable`` (no limit earns more than it is expected to lose),
``el_budget`` (the portfolio loss budget held it below its most profitable value), ``capacity``
(set by expected demand: a higher limit would not be used enough to pay for its risk), ``floor``,
``ceiling``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_models.limits.capacity_metrics import quantile_column
from credit_models.limits.demand import DemandDistribution
from credit_models.limits.policy import Band, LimitPolicy, TargetMethod

logger = logging.getLogger("credit_models.limits")

BISECTION_STEPS = 40
BINDING_RULES = ("pd_above_max", "pd_band", "unprofitable", "el_budget", "capacity", "floor",
                 "ceiling")


@dataclass(frozen=True)
class TargetLimits:
    frame: pd.DataFrame
    """Per customer: target_limit, binding_rule, pd_band, capacity_band, expected_use,
    shortfall_probability (P(peak demand > target))."""
    shadow_price: float
    """The EL budget's price per unit of expected loss (0: the budget does not bind)."""


def round_down(limits: np.ndarray, policy: LimitPolicy) -> np.ndarray:
    return np.floor(np.asarray(limits, dtype=float) / policy.rounding) * policy.rounding


def round_up(amounts: np.ndarray, policy: LimitPolicy) -> np.ndarray:
    return np.ceil(np.asarray(amounts, dtype=float) / policy.rounding) * policy.rounding


def band_names(values: pd.Series, bands: tuple[Band, ...]) -> pd.Series:
    names = np.array([band.name for band in bands])
    return pd.Series(names[_band_index(values, bands)], index=values.index)


def demand_distribution(portfolio: pd.DataFrame, levels: tuple[float, ...]) -> DemandDistribution:
    """The lognormal through the lowest and highest predicted quantiles."""
    low, high = min(levels), max(levels)
    return DemandDistribution.from_quantiles(
        portfolio[quantile_column(low)].to_numpy(), portfolio[quantile_column(high)].to_numpy(),
        low, high)


def target_limits(portfolio: pd.DataFrame, policy: LimitPolicy, levels: tuple[float, ...],
                  pd_horizon_months: int, shadow_price: float | None = None) -> TargetLimits:
    """``shadow_price``: a price of expected loss fixed in advance (the one found on the training
    portfolio), so a served customer's limit does not depend on who else is in the request;
    None finds the price that keeps this portfolio within the EL budget."""
    demand = demand_distribution(portfolio, levels)
    if policy.method is TargetMethod.tiers:
        frame, price = _tier_limits(portfolio, policy), 0.0
    else:
        frame, price = _optimum_limits(portfolio, policy, demand, pd_horizon_months,
                                       shadow_price)
    frame["pd_band"] = band_names(portfolio["pd"], policy.tiers.pd_bands)
    frame["capacity_band"] = band_names(portfolio[policy.tiers.basis],
                                        policy.tiers.capacity_bands)
    limits = frame["target_limit"].to_numpy()
    balance = portfolio["balance"].to_numpy(dtype=float)
    frame["expected_use"] = demand.expected_use(limits, balance)
    frame["shortfall_probability"] = np.where(
        limits > 0, demand.shortfall_probability(limits, balance), 1.0)
    return TargetLimits(frame, price)


def _tier_limits(portfolio: pd.DataFrame, policy: LimitPolicy) -> pd.DataFrame:
    tiers = policy.tiers
    pd_index = _band_index(portfolio["pd"], tiers.pd_bands)
    capacity_index = _band_index(portfolio[tiers.basis], tiers.capacity_bands)
    multiplier = np.asarray(tiers.multipliers)[pd_index, capacity_index]
    raw = multiplier * portfolio[tiers.basis].to_numpy(dtype=float)
    limit = np.minimum(round_down(raw, policy), round_down(policy.ceiling, policy))
    rule = np.where(raw > policy.ceiling, "ceiling", "capacity")
    below_floor = limit < policy.floor
    limit = np.where(below_floor, policy.floor, limit)
    rule = np.where(below_floor, "floor", rule)
    no_line = multiplier == 0
    too_risky = portfolio["pd"].to_numpy() >= policy.max_pd
    limit = np.where(no_line | too_risky, 0.0, limit)
    rule = np.where(no_line, "pd_band", rule)
    rule = np.where(too_risky, "pd_above_max", rule)
    return pd.DataFrame({"target_limit": limit, "binding_rule": rule}, index=portfolio.index)


def _band_index(values: pd.Series, bands: tuple[Band, ...]) -> np.ndarray:
    edges = np.array([band.lower for band in bands[1:]])
    return np.searchsorted(edges, values.to_numpy(dtype=float), side="right")


def stretched_pd(window_pd: np.ndarray, window_months: float, months: float) -> np.ndarray:
    """A PD over ``window_months`` (the label's window) stretched to ``months`` at a constant
    hazard."""
    return 1.0 - (1.0 - np.asarray(window_pd, dtype=float)) ** (months / window_months)


def exposure_at_default(used: np.ndarray, limits: np.ndarray, ccf: float) -> np.ndarray:
    """The balance used plus the share ``ccf`` of the unused limit drawn before default."""
    return used + ccf * np.maximum(limits - used, 0.0)


def limit_grid(policy: LimitPolicy) -> np.ndarray:
    """No line, then geometric steps from the floor to the ceiling, on the rounding."""
    steps = round_down(np.geomspace(policy.floor, policy.ceiling, policy.optimum.grid_points),
                       policy)
    steps = np.unique(np.clip(steps, policy.floor, round_down(policy.ceiling, policy)))
    return np.r_[0.0, steps]


@dataclass(frozen=True)
class GridOutcomes:
    """Per customer (rows) and candidate limit (columns) over the policy horizon."""

    grid: np.ndarray
    profit: np.ndarray
    expected_loss: np.ndarray
    exposure: np.ndarray


def grid_outcomes(portfolio: pd.DataFrame, policy: LimitPolicy, demand: DemandDistribution,
                  pd_horizon_months: int) -> GridOutcomes:
    """Expected profit and loss of every grid limit for every customer.

    PD rises with the limit through the elasticity, relative to the limit the PD was scored under
    (the current one; the median demand for a customer without a line); the PD of the label
    window is stretched to the horizon assuming a constant hazard.
    """
    settings = policy.optimum
    grid = limit_grid(policy)
    limits = np.broadcast_to(grid, (len(portfolio), len(grid)))
    used = demand.expected_use(limits, portfolio["balance"].to_numpy(dtype=float))
    exposure = exposure_at_default(used, limits, policy.ccf)
    scored_under = portfolio["current_limit"].to_numpy(dtype=float)
    scored_under = np.where(scored_under > 0, scored_under, np.exp(demand.log_median))
    with np.errstate(divide="ignore"):
        relative = np.where(limits > 0, limits / scored_under[:, None], 0.0)
    window_pd = np.minimum(portfolio["pd"].to_numpy(dtype=float)[:, None]
                           * relative ** settings.pd_elasticity, 1.0)
    horizon_pd = stretched_pd(window_pd, pd_horizon_months, settings.horizon_months)
    expected_loss = horizon_pd * policy.lgd * exposure
    margin = (settings.revenue_rate - settings.funding_rate) * settings.horizon_months / 12.0
    return GridOutcomes(grid, margin * used - expected_loss, expected_loss, exposure)


def _optimum_limits(portfolio: pd.DataFrame, policy: LimitPolicy, demand: DemandDistribution,
                    pd_horizon_months: int, fixed_price: float | None
                    ) -> tuple[pd.DataFrame, float]:
    """Each customer's most profitable grid limit; when the portfolio's EL / EAD exceeds the
    budget, expected loss is priced (a Lagrange multiplier found by bisection) until it fits."""
    outcomes = grid_outcomes(portfolio, policy, demand, pd_horizon_months)
    allowed = portfolio["pd"].to_numpy()[:, None] < policy.max_pd
    allowed = allowed | (outcomes.grid[None, :] == 0)
    rows = np.arange(len(portfolio))

    def choose(price: float) -> np.ndarray:
        value = np.where(allowed, outcomes.profit - price * outcomes.expected_loss, -np.inf)
        return np.argmax(value, axis=1)

    def loss_rate(choice: np.ndarray) -> float:
        exposure = outcomes.exposure[rows, choice].sum()
        return outcomes.expected_loss[rows, choice].sum() / exposure if exposure > 0 else 0.0

    budget = policy.optimum.expected_loss_budget
    unconstrained = choose(0.0)
    price, choice = 0.0, unconstrained
    if fixed_price is not None:
        price, choice = fixed_price, choose(fixed_price)
    elif loss_rate(unconstrained) > budget:
        low, high = 0.0, 1.0
        while loss_rate(choose(high)) > budget and high < 1e6:
            low, high = high, high * 2
        for _ in range(BISECTION_STEPS):
            middle = (low + high) / 2
            low, high = (middle, high) if loss_rate(choose(middle)) > budget else (low, middle)
        price, choice = high, choose(high)
        if loss_rate(choice) > budget:
            logger.warning("the EL budget %.4f cannot be met (EL/EAD %.4f at the highest price)",
                           budget, loss_rate(choice))
    limit = outcomes.grid[choice]
    best = outcomes.grid[unconstrained]
    rule = np.select(
        [portfolio["pd"].to_numpy() >= policy.max_pd, best == 0, limit < best,
         limit >= outcomes.grid[-1], limit <= policy.floor],
        ["pd_above_max", "unprofitable", "el_budget", "ceiling", "floor"], "capacity",
    )
    return pd.DataFrame({"target_limit": limit, "binding_rule": rule},
                        index=portfolio.index), price
