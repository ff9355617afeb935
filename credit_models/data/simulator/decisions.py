"""Deciding order attempts in time order: accepted, declined by a risk rule, declined for
insufficient limit, or (a draw-down) taking whatever is available.

Attempts are processed rank by rank (the k-th attempt of every customer at once), each seeing the
limit used by the customer's earlier accepted attempts and the payments made before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from credit_models.data.simulator.ledger import floor_cents, round_cents
from credit_models.data.simulator.spending import OrderAttempts

DECLINE_REASONS = ("insufficient_limit", "risk_rule")
NOT_DECLINED = -1


@dataclass
class Outcome:
    """Decisions on the month's order attempts."""

    accepted: np.ndarray
    declined_reason: np.ndarray
    """``NOT_DECLINED`` or an index into :data:`DECLINE_REASONS`."""
    amount: np.ndarray
    available: np.ndarray
    """Limit minus outstanding balance just before the attempt."""

    @classmethod
    def undecided(cls, attempts: OrderAttempts) -> Outcome:
        return cls(
            accepted=np.zeros(len(attempts), dtype=bool),
            declined_reason=np.full(len(attempts), NOT_DECLINED, dtype=np.int64),
            amount=attempts.amount.copy(),
            available=np.zeros(len(attempts)),
        )


def decide_in_time_order(
    attempts: OrderAttempts,
    index: np.ndarray,
    limit_at: np.ndarray,
    paid_before: np.ndarray,
    frozen: np.ndarray,
    outstanding: np.ndarray,
    accepted_total: np.ndarray,
    outcome: Outcome,
) -> None:
    """Decide the attempts ``index`` (sorted by customer and time); ``limit_at``, ``paid_before``
    and ``frozen`` are per attempt, ``outstanding`` (at the statement) and ``accepted_total``
    (updated here) per customer.

    A frozen account (a bill at least a day past due) or a platform risk screen declines with
    ``risk_rule``; an amount above the available limit is declined with ``insufficient_limit``
    when the customer tries it anyway; a draw-down ignores both and takes the available limit.
    """
    if len(index) == 0:
        return
    customers = attempts.customer[index]
    positions = np.arange(len(index))
    first_of_customer = np.r_[True, customers[1:] != customers[:-1]]
    rank = positions - np.maximum.accumulate(np.where(first_of_customer, positions, 0))
    order = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[order], np.arange(rank.max() + 2))
    for lower, upper in pairwise(bounds):
        chosen = index[order[lower:upper]]
        who = attempts.customer[chosen]
        available = round_cents(
            limit_at[chosen] - (outstanding[who] + accepted_total[who] - paid_before[chosen])
        )
        draw_down = attempts.is_draw_down[chosen]
        draw_amount = floor_cents(available)
        risk_rule = ~draw_down & (frozen[chosen] | attempts.random_risk_decline[chosen])
        over_limit = ~draw_down & ~risk_rule & (attempts.amount[chosen] > available)
        too_big = over_limit & attempts.tries_over_limit[chosen]
        accept = np.where(draw_down, draw_amount >= 0.01, ~risk_rule & ~over_limit)
        amount = np.where(draw_down, draw_amount, attempts.amount[chosen])
        outcome.accepted[chosen] = accept
        outcome.amount[chosen] = amount
        outcome.available[chosen] = available
        outcome.declined_reason[chosen] = np.where(
            risk_rule, DECLINE_REASONS.index("risk_rule"),
            np.where(too_big, DECLINE_REASONS.index("insufficient_limit"), NOT_DECLINED),
        )
        accepted_total[who] += np.where(accept, amount, 0.0)
