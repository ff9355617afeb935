"""The lender's limit policy after the first grant: raises for customers in good standing, a
temporary raise for the 618 and Double 11 campaigns, and a cut when a bill is missed.

* ``periodic_raise`` at 00:00 on the 2nd, every 6 months on book: no late payment for 6 months,
  nothing past due, utilisation at the statement >= 50 %; a step of 20-40 % (at most
  ``periodic_raise_max_step``), never above the ceiling.
* ``promotion_raise`` at 08:00 on 1 June / 1 November for most such customers with utilisation
  >= 30 % and 3+ months on book, expiring at 00:00 on 21 June / 14 November, where a
  ``promotion_expiry`` event restores the permanent limit.
* ``risk_cut`` at the due date when the bill is not paid by then: the limit drops to the
  outstanding balance (rounded up, at least the floor), so nothing is left to spend.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from credit_models.data.simulator.calendar import (
    MICROSECONDS_PER_DAY,
    MICROSECONDS_PER_SECOND,
    PROMOTION_RAISE_EXPIRY_DAY,
    HorizonCalendar,
)
from credit_models.data.simulator.config import SimulatorConfig
from credit_models.data.simulator.month import (
    NEVER,
    U_PROMOTION,
    U_PROMOTION_SIZE,
    U_RAISE_SIZE,
    MonthContext,
)
from credit_models.data.simulator.population import Population

if TYPE_CHECKING:
    from credit_models.data.simulator.scheduled_limits import ScheduledMonth

LIMIT_REASONS = ("initial", "periodic_raise", "promotion_raise", "promotion_expiry", "risk_cut")
GOOD_STANDING_MONTHS = 6
REVIEW_EVERY_MONTHS = 6
PROMOTION_RAISE_HOUR = 8
PROMOTION_OFFER_SHARE = 0.8


@dataclass(frozen=True)
class LimitReviews:
    """Raises decided at the statement (before any cut at the due date)."""

    limit_at_statement: np.ndarray
    promotion_extra: np.ndarray
    promotion_us: int
    expiry_us: int
    raise_step: np.ndarray
    review_us: int

    def limit_at(self, customers: np.ndarray, instants: np.ndarray) -> np.ndarray:
        """The limit in force at each instant of the month, before any risk cut."""
        promotion_on = (instants >= self.promotion_us) & (instants < self.expiry_us)
        return (
            self.limit_at_statement[customers]
            + np.where(instants >= self.review_us, self.raise_step[customers], 0.0)
            + np.where(promotion_on, self.promotion_extra[customers], 0.0)
        )

    @property
    def permanent_limit(self) -> np.ndarray:
        return self.limit_at_statement + self.raise_step

    @property
    def own_reviews(self) -> LimitReviews:
        """The decisions the simulator's lender logs as limit events: all of them."""
        return self

    @property
    def cuts_allowed(self) -> np.ndarray:
        return np.ones(len(self.limit_at_statement), dtype=bool)


@dataclass(frozen=True)
class RiskCut:
    applies: np.ndarray
    new_limit: np.ndarray
    limit_before: np.ndarray


@dataclass(frozen=True)
class LimitChanges:
    """Rows of the limit_events table for one kind of change."""

    customers: np.ndarray
    changed_us: int
    old_limit: np.ndarray
    new_limit: np.ndarray
    reason: str
    expires_us: int = NEVER


def review_limits(
    context: MonthContext,
    config: SimulatorConfig,
    calendar: HorizonCalendar,
    population: Population,
    limit: np.ndarray,
    last_late_month: np.ndarray,
) -> LimitReviews:
    month = context.month
    uniform = context.uniform
    utilisation = np.divide(context.outstanding, limit, out=np.full(len(limit), np.inf),
                            where=limit > 0)  # no line (an imposed limit of 0): nothing to spare
    months_on_book = month - population.signup_month
    good_standing = (
        context.open_account & (population.signed_up_at_us < context.start_us)
        & ~context.has_overdue & (month - last_late_month > GOOD_STANDING_MONTHS)
    )
    calendar_month = int(calendar.calendar_month[month])
    extra = np.zeros(len(population))
    expiry_us = NEVER
    if calendar_month in PROMOTION_RAISE_EXPIRY_DAY:
        expiry_us = calendar.day_start_us(month, PROMOTION_RAISE_EXPIRY_DAY[calendar_month])
        offered = (
            good_standing & (months_on_book >= 3) & (utilisation >= 0.3)
            & (uniform[:, U_PROMOTION] < PROMOTION_OFFER_SHARE)
        )
        size = limit * (config.promotion_raise_share + 0.2 * uniform[:, U_PROMOTION_SIZE])
        extra = np.where(offered, np.maximum(100.0, np.round(size / 100) * 100), 0.0)
    reviewed = (
        good_standing & (months_on_book > 0) & (months_on_book % REVIEW_EVERY_MONTHS == 0)
        & (utilisation >= 0.5) & (limit < config.limit_ceiling)
    )
    step = np.minimum(
        config.periodic_raise_max_step,
        np.round(limit * (0.2 + 0.2 * uniform[:, U_RAISE_SIZE]) / 100) * 100,
    )
    raised = np.minimum(config.limit_ceiling, limit + step)
    return LimitReviews(
        limit_at_statement=limit.copy(),
        promotion_extra=extra,
        promotion_us=context.start_us + PROMOTION_RAISE_HOUR * 3_600 * MICROSECONDS_PER_SECOND,
        expiry_us=expiry_us,
        raise_step=np.where(reviewed, np.maximum(raised - limit, 0.0), 0.0),
        review_us=context.start_us + MICROSECONDS_PER_DAY,
    )


def risk_cut(
    context: MonthContext,
    config: SimulatorConfig,
    reviews: LimitReviews | ScheduledMonth,
    outstanding_at_due: np.ndarray,
    bill_missed: np.ndarray,
) -> RiskCut:
    everyone = np.arange(len(outstanding_at_due))
    limit_before = reviews.limit_at(everyone, np.full(len(everyone), context.due_us))
    new_limit = np.maximum(config.limit_floor, np.ceil(np.round(outstanding_at_due, 2)))
    applies = (
        bill_missed & (context.charge_off_us > context.due_us) & (new_limit < limit_before)
        & reviews.cuts_allowed
    )
    return RiskCut(applies, new_limit, limit_before)


def limit_changes(reviews: LimitReviews, cut: RiskCut, due_us: int) -> Iterator[LimitChanges]:
    """The month's limit events; old limits chain with the previous event's new limit."""
    promoted = np.flatnonzero(reviews.promotion_extra > 0)
    if len(promoted):
        base = reviews.limit_at_statement[promoted]
        yield LimitChanges(promoted, reviews.promotion_us, base,
                           base + reviews.promotion_extra[promoted], "promotion_raise",
                           reviews.expiry_us)
        before = reviews.permanent_limit[promoted] + reviews.promotion_extra[promoted]
        after = reviews.permanent_limit[promoted]
        if reviews.expiry_us > due_us:  # a cut at the due date already ended the promotion
            cut_first = cut.applies[promoted]
            before = np.where(cut_first, cut.new_limit[promoted], before)
            after = np.where(cut_first, cut.new_limit[promoted], after)
        yield LimitChanges(promoted, reviews.expiry_us, before, after, "promotion_expiry")
    raised = np.flatnonzero(reviews.raise_step > 0)
    before = reviews.limit_at(raised, np.full(len(raised), reviews.review_us - 1))
    yield LimitChanges(raised, reviews.review_us, before, before + reviews.raise_step[raised],
                       "periodic_raise")
    cuts = np.flatnonzero(cut.applies)
    yield LimitChanges(cuts, due_us, cut.limit_before[cuts], cut.new_limit[cuts], "risk_cut")
