"""A limit schedule imposed on the simulated lender: the limits a candidate policy would have set,
in force from a snapshot month on, in place of the simulator's own raises, campaign raises and
cuts. What makes a closed-loop evaluation possible (see :mod:`closed_loop`).

A schedule is the replay's step function (customer, start instant, limit): the limit in force at
an instant is the last step at or before it; a customer with no step yet has no line (0). Only
the scheduled customers follow it, only from ``first_month`` on; everyone else keeps the
simulator's own policy. Under a schedule the lender does not cut on a missed bill (the account
is still frozen while a bill is past due), so the schedule is the whole of the policy evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from credit_models.data.simulator.limit_policy import LimitReviews


@dataclass(frozen=True)
class LimitSchedule:
    """Steps of one chunk's scheduled customers, sorted by customer then time."""

    first_month: int
    customer: np.ndarray
    """Index of the customer within the chunk."""
    starts_us: np.ndarray
    limit: np.ndarray
    count: int
    """Customers in the chunk."""

    @classmethod
    def build(cls, first_month: int, customer: np.ndarray, starts_us: np.ndarray,
              limit: np.ndarray, count: int) -> LimitSchedule:
        order = np.lexsort((starts_us, customer))
        return cls(first_month, customer[order].astype(np.int64),
                   starts_us[order].astype(np.int64), limit[order].astype(float), count)

    @cached_property
    def scheduled(self) -> np.ndarray:
        mask = np.zeros(self.count, dtype=bool)
        mask[self.customer] = True
        return mask

    @cached_property
    def _first_step(self) -> np.ndarray:
        """Each customer's first row (the steps of a customer are contiguous)."""
        return np.searchsorted(self.customer, np.arange(self.count))

    def applies(self, month: int) -> bool:
        return month >= self.first_month

    def in_force(self, instant_us: int) -> np.ndarray:
        """Each customer's scheduled limit at ``instant_us`` (0 before their first step)."""
        steps_so_far = np.bincount(self.customer[self.starts_us <= instant_us],
                                   minlength=self.count)
        last = self._first_step + steps_so_far - 1
        return np.where(steps_so_far > 0, self.limit[np.maximum(last, 0)], 0.0)

    def month(self, own: LimitReviews, start_us: int, end_us: int) -> ScheduledMonth:
        """The month's limits: the schedule's for its customers, ``own`` for the others."""
        inside = (self.starts_us > start_us) & (self.starts_us < end_us)
        times = np.unique(self.starts_us[inside])
        steps = np.full((len(times), self.count), np.nan)
        for row, instant in enumerate(times):
            at = inside & (self.starts_us == instant)
            steps[row, self.customer[at]] = self.limit[at]  # the last of equal times wins
        return ScheduledMonth(own, self.scheduled, self.in_force(start_us), times, steps,
                              self.in_force(end_us))


@dataclass(frozen=True)
class ScheduledMonth:
    """One month's limits under a schedule, read like :class:`LimitReviews`."""

    own: LimitReviews
    scheduled: np.ndarray
    opening: np.ndarray
    times: np.ndarray
    steps: np.ndarray
    """(len(times), customers): the limit from each instant on, NaN where it does not change."""
    closing: np.ndarray
    """The limit in force at the next month's start: the permanent limit carried forward."""

    def limit_at(self, customers: np.ndarray, instants: np.ndarray) -> np.ndarray:
        limit = self.opening[customers]
        for row, instant in enumerate(self.times):
            step = self.steps[row, customers]
            limit = np.where((instants >= instant) & ~np.isnan(step), step, limit)
        return np.where(self.scheduled[customers], limit, self.own.limit_at(customers, instants))

    @property
    def permanent_limit(self) -> np.ndarray:
        return np.where(self.scheduled, self.closing, self.own.permanent_limit)

    @property
    def cuts_allowed(self) -> np.ndarray:
        """No cut on a missed bill for a scheduled customer: the schedule is the policy."""
        return ~self.scheduled

    @property
    def own_reviews(self) -> LimitReviews:
        """The simulator's own decisions for the customers it still decides (the limit events
        it logs); the scheduled customers' raises are removed."""
        return LimitReviews(
            limit_at_statement=self.own.limit_at_statement,
            promotion_extra=np.where(self.scheduled, 0.0, self.own.promotion_extra),
            promotion_us=self.own.promotion_us,
            expiry_us=self.own.expiry_us,
            raise_step=np.where(self.scheduled, 0.0, self.own.raise_step),
            review_us=self.own.review_us,
        )
