"""Order attempts of one month: how many, when, what and how they are paid.

Counts are Poisson with a rate of engagement x the month's seasonal intensity (promotion windows
visibly busier) x the macro climate; baskets are lognormal around capacity per order, larger in
promotions and for shocked customers, and larger on a larger credit line for the customers who
borrow at the margin (see :func:`limit_response`). Each attempt gets its random numbers up front,
so the within-month decision loop (limit, freeze) draws nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from credit_models.data.simulator.calendar import (
    MICROSECONDS_PER_DAY,
    MICROSECONDS_PER_SECOND,
    HorizonCalendar,
)
from credit_models.data.simulator.config import SimulatorConfig
from credit_models.data.simulator.latent import sigmoid
from credit_models.data.simulator.ledger import round_cents
from credit_models.data.simulator.population import Population
from credit_models.data.simulator.randomness import BlockRandom

CATEGORIES = ("grocery", "apparel", "dining", "home", "beauty", "electronics", "digital", "travel")
CATEGORY_SHARE = np.array([0.24, 0.18, 0.12, 0.10, 0.10, 0.10, 0.10, 0.06])
PROMOTION_CATEGORY_SHARE = np.array([0.14, 0.22, 0.04, 0.13, 0.15, 0.20, 0.08, 0.04])
CATEGORY_BASKET = np.array([0.35, 0.9, 0.3, 1.5, 0.8, 3.0, 0.5, 2.2])
"""Basket size of each category relative to the customer's typical order."""
DRAW_DOWN_CATEGORY = CATEGORIES.index("electronics")
CHANNELS = ("app", "mini_program", "web", "offline")
CHANNEL_SHARE = np.array([0.55, 0.20, 0.15, 0.10])
INSTALMENT_CHOICES = np.array([3, 6, 12])
DAYS_PER_AVERAGE_MONTH = 30.44
TRY_OVER_LIMIT_SHARE = 0.25
LIMIT_RESPONSE_BOUNDS = (0.5, 2.0)
"""The limit response never more than halves or doubles a basket."""
DRAW_DOWN_FIRST_DAY = 26
"""Draw-downs happen on day 26 or later: after every payment of that month (on-time ones end on
the 15th, late ones of a customer entering distress by the 25th), so the missed bill that follows
always carries the drawn amount."""


@dataclass
class OrderAttempts:
    """Flat arrays, one entry per attempt, sorted by customer then time."""

    customer: np.ndarray
    time_us: np.ndarray
    amount: np.ndarray
    category: np.ndarray
    channel: np.ndarray
    instalment_months: np.ndarray
    is_promotion: np.ndarray
    random_risk_decline: np.ndarray
    """A platform risk rule (fraud screen) refuses this attempt whatever the account's state."""
    is_draw_down: np.ndarray
    """The attempt that takes the whole available limit (entering distress, bust-out)."""
    tries_over_limit: np.ndarray
    """Customers see their available limit: most do not even try an order above it (they pay
    another way, leaving no trace); those who try anyway are declined."""

    def take(self, index: np.ndarray) -> OrderAttempts:
        return OrderAttempts(**{name: value[index] for name, value in vars(self).items()})

    def __len__(self) -> int:
        return len(self.customer)


def month_attempts(
    config: SimulatorConfig,
    calendar: HorizonCalendar,
    rng: BlockRandom,
    month: int,
    population: Population,
    shopping: np.ndarray,
    shock: np.ndarray,
    draws_down: np.ndarray,
    draw_down_uniform: np.ndarray,
    *,
    credit_limit: np.ndarray | None = None,
) -> OrderAttempts:
    """Regular attempts of customers who can shop this month, plus one draw-down attempt for each
    customer entering distress. ``credit_limit`` (one per customer) scales the baskets by
    :func:`limit_response`; None leaves them as on the first grant. It changes no random number,
    so the same seed run under two limit policies gives the same attempts, times and categories
    (common random numbers), with baskets that differ only through the limit."""
    daily = calendar.daily_intensity[month]
    promotion_days = calendar.daily_promotion[month]
    climate = np.exp(-0.15 * calendar.macro[month])
    rate = population.engagement * daily.sum() / DAYS_PER_AVERAGE_MONTH * climate
    rate = np.where(shopping, rate * np.where(shock, 1.15, 1.0), 0.0)
    counts = rng.poisson(rate)
    uniform = rng.uniform_rows(counts, 8)
    normal = rng.normal_rows(counts, 1)[:, 0]
    customer = np.repeat(np.arange(len(counts)), counts)

    cumulative_days = np.cumsum(daily) / daily.sum()
    day = np.minimum(np.searchsorted(cumulative_days, uniform[:, 0], side="right"), len(daily) - 1)
    seconds = np.floor(uniform[:, 1] * 86_400).astype(np.int64)
    time_us = (
        calendar.month_start_us[month]
        + day * MICROSECONDS_PER_DAY
        + seconds * MICROSECONDS_PER_SECOND
    )
    is_promotion = promotion_days[day]
    category = np.where(
        is_promotion,
        _pick(np.cumsum(PROMOTION_CATEGORY_SHARE), uniform[:, 2]),
        _pick(np.cumsum(CATEGORY_SHARE), uniform[:, 2]),
    )
    channel = _pick(np.cumsum(CHANNEL_SHARE), uniform[:, 3])
    shocked = shock[customer]
    typical = population.capacity / np.maximum(population.engagement, 1.0)
    amount = (
        typical[customer]
        * np.where(shocked, 1.2, 1.0)
        * CATEGORY_BASKET[category]
        * (1 + config.promotion_basket_uplift * is_promotion)
        * np.exp(0.6 * normal - 0.18)
    )
    if credit_limit is not None:
        amount = amount * limit_response(config, population, credit_limit)[customer]
    amount = np.maximum(round_cents(amount), 1.0)
    risk = population.risk[customer]
    takes_plan = uniform[:, 4] < sigmoid(
        -1.7 + 1.0 * np.log(amount / 1000.0) + 0.8 * is_promotion + 0.5 * shocked + 0.2 * risk
    )
    big = amount > 3000
    plan_length = np.where(
        big,
        INSTALMENT_CHOICES[_pick(np.array([0.25, 0.6, 1.0]), uniform[:, 5])],
        INSTALMENT_CHOICES[_pick(np.array([0.55, 0.85, 1.0]), uniform[:, 5])],
    )
    instalment_months = np.where(takes_plan, plan_length, 1).astype(np.int64)
    random_risk_decline = uniform[:, 6] < 0.003 + 0.01 * sigmoid(risk - 1.5)

    regular = OrderAttempts(
        customer=customer,
        time_us=time_us.astype(np.int64),
        amount=amount,
        category=category.astype(np.int64),
        channel=channel.astype(np.int64),
        instalment_months=instalment_months,
        is_promotion=is_promotion,
        random_risk_decline=random_risk_decline,
        is_draw_down=np.zeros(len(customer), dtype=bool),
        tries_over_limit=uniform[:, 7] < TRY_OVER_LIMIT_SHARE,
    )
    drawing = np.flatnonzero(draws_down)
    first_us = calendar.month_start_us[month] + (DRAW_DOWN_FIRST_DAY - 1) * MICROSECONDS_PER_DAY
    span_seconds = (calendar.month_start_us[month + 1] - first_us) // MICROSECONDS_PER_SECOND
    draw_seconds = np.floor(draw_down_uniform[drawing] * span_seconds).astype(np.int64)
    draw_time = first_us + draw_seconds * MICROSECONDS_PER_SECOND
    draw_day = (draw_time - calendar.month_start_us[month]) // MICROSECONDS_PER_DAY
    draw_downs = OrderAttempts(
        customer=drawing,
        time_us=draw_time.astype(np.int64),
        amount=np.zeros(len(drawing)),
        category=np.full(len(drawing), DRAW_DOWN_CATEGORY, dtype=np.int64),
        channel=np.zeros(len(drawing), dtype=np.int64),
        instalment_months=np.ones(len(drawing), dtype=np.int64),
        is_promotion=promotion_days[draw_day],
        random_risk_decline=np.zeros(len(drawing), dtype=bool),
        is_draw_down=np.ones(len(drawing), dtype=bool),
        tries_over_limit=np.ones(len(drawing), dtype=bool),
    )
    merged = OrderAttempts(
        **{
            name: np.concatenate([getattr(regular, name), getattr(draw_downs, name)])
            for name in vars(regular)
        }
    )
    order = np.lexsort((merged.time_us, merged.customer))
    return merged.take(order)


def limit_response(
    config: SimulatorConfig, population: Population, credit_limit: np.ndarray
) -> np.ndarray:
    """Factor on each customer's baskets: (limit / first grant) ** elasticity, within
    :data:`LIMIT_RESPONSE_BOUNDS`. The elasticity is ``limit_spending_elasticity`` times a weight
    in (0, 1) that rises with risk and falls with income: the marginal propensity to borrow out
    of a limit increase is high for low-score, liquidity-constrained customers and near zero for
    prime ones (Agarwal et al. 2018; Gross & Souleles 2002)."""
    credit_limit = np.asarray(credit_limit, dtype=np.float64)
    if credit_limit.shape != population.initial_limit.shape:
        raise ValueError(
            f"credit_limit must hold one limit per customer ({len(population)}); "
            f"got shape {credit_limit.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(credit_limit) | (credit_limit < 0))
    if len(bad):
        raise ValueError(
            f"credit_limit must be finite and >= 0; customers {bad[:5].tolist()} have "
            f"{credit_limit[bad[:5]].tolist()}"
        )
    weight = sigmoid(2.0 * population.risk
                     - np.log(population.income / config.median_monthly_income))
    elasticity = config.limit_spending_elasticity * weight
    ratio = credit_limit / population.initial_limit
    return np.clip(ratio**elasticity, *LIMIT_RESPONSE_BOUNDS)


def _pick(cumulative: np.ndarray, draw: np.ndarray) -> np.ndarray:
    """Category index for each uniform draw, given cumulative probabilities ending at 1."""
    return np.minimum(np.searchsorted(cumulative, draw, side="right"), len(cumulative) - 1)
