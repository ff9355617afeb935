"""What is known about a month at its statement: the facts every part of the month step reads.

Time is int64 microseconds since the epoch (UTC) throughout the month step: cheap to compare and
exact. ``NEVER`` stands for an event that does not happen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEVER = np.iinfo(np.int64).max
NO_MONTH = 1_000_000
"""Month sentinel larger than any month index."""
CHARGE_OFF_DAYS_PAST_DUE = 90

# Columns of the per-month uniform matrix (one row per customer, drawn every month whether used
# or not, so that the random stream of a customer block never depends on the data).
(
    U_SHOCK, U_DISTRESS, U_PAYMENT_MODE, U_PARTIAL_SHARE, U_CARELESS, U_LATENESS, U_PAYMENT_TIME,
    U_LATE_TIME, U_CURE_TIME, U_TOKEN_PAYMENT, U_TOKEN_SHARE, U_TOKEN_TIME, U_PROMOTION,
    U_PROMOTION_SIZE, U_RAISE_SIZE, U_DRAW_DOWN_TIME,
) = range(16)
MONTH_UNIFORMS = 16


@dataclass(frozen=True)
class MonthContext:
    """Month-level facts, one entry per customer of the chunk."""

    month: int
    start_us: int
    end_us: int
    due_us: int
    """00:00 on the 20th: the due date of this month's bill."""
    uniform: np.ndarray
    """(n, MONTH_UNIFORMS) random numbers of the month."""
    open_account: np.ndarray
    """Signed up by the end of the month and not charged off."""
    billable: np.ndarray
    """Received this month's statement (signed up before it)."""
    amount_due: np.ndarray
    minimum_due: np.ndarray
    """This month's bill (0 without one)."""
    outstanding: np.ndarray
    """Balance occupying the limit just after the statement."""
    overdue: np.ndarray
    """(n, bill slots) open bills issued before this month: already past due."""
    has_overdue: np.ndarray
    charge_off_us: np.ndarray
    """When the oldest missed bill reaches 90 days past due this month (``NEVER`` otherwise):
    the account is charged off then, and nothing happens on it afterwards."""
