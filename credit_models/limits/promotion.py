"""Temporary promotion limits for 618 and Double 11: extra room during the campaign for customers
whose campaign orders would not fit and who are safe to give more, expiring on its own.

The point is the declined basket at the peak. Every customer with a line, a PD below ``max_pd``
and no delinquency in the review guardrail's window is considered; the extra is sized by
``sizing``:

* ``demand`` (default): the campaign month's demand predicted by the capacity model
  (``demand_basis`` × ``demand_multiplier``) less the room the customer has (limit − balance),
  rounded *up*, so that the predicted basket fits; none where it already fits;
* ``share``: ``extra_share`` of the permanent limit for customers whose utilisation is at least
  ``min_utilisation``.

Either way the extra is at most ``extra_share`` of the permanent limit and at most ``max_extra``
(the affordability caps), on the rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_models.limits.policy import LimitPolicy, PromotionSizing, PromotionWindow
from credit_models.limits.target_limits import round_down, round_up

PROMOTION_REASONS = ("no_line", "recent_delinquency", "pd_above_promotion_max", "utilisation_low",
                     "demand_fits", "extra_below_rounding", "promotion_raise")


def next_window(window: PromotionWindow, after: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The campaign's next start at or after ``after`` and its expiry (00:00 UTC)."""
    for year in (after.year, after.year + 1):
        start = pd.Timestamp(year=year, month=window.month, day=window.first_day, tz="UTC")
        if start >= after:
            return start, start.replace(day=window.expiry_day)
    raise AssertionError("unreachable: next year's window always starts later")


def promotion_limits(portfolio: pd.DataFrame, permanent_limit: pd.Series, policy: LimitPolicy,
                     as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per customer and campaign window: eligible, extra, starts_at, expires_at,
    promotion_reason. Windows are the next occurrence of each campaign after ``as_of``."""
    rules = policy.promotion
    limit = permanent_limit.to_numpy(dtype=float)
    balance = portfolio["balance"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.where(limit > 0, balance / limit, 0.0)
    delinquent = (portfolio["months_since_delinquency"].to_numpy(dtype=float)
                  < policy.review.no_raise_months_after_delinquency)
    risky = portfolio["pd"].to_numpy(dtype=float) >= rules.max_pd
    cap = round_down(np.minimum(rules.extra_share * limit, rules.max_extra), policy)
    if rules.sizing is PromotionSizing.demand:
        demand = portfolio[rules.demand_basis].to_numpy(dtype=float) * rules.demand_multiplier
        shortfall = demand - np.maximum(limit - balance, 0.0)
        not_needed, not_needed_reason = ~(shortfall > 0), "demand_fits"
        extra = np.minimum(round_up(np.maximum(shortfall, 0.0), policy), cap)
    else:
        not_needed, not_needed_reason = utilisation < rules.min_utilisation, "utilisation_low"
        extra = cap
    eligible = (limit > 0) & ~delinquent & ~risky & ~not_needed & (extra > 0)
    reason = np.select(
        [limit <= 0, delinquent, risky, not_needed, ~eligible],
        ["no_line", "recent_delinquency", "pd_above_promotion_max", not_needed_reason,
         "extra_below_rounding"],
        "promotion_raise",
    )
    frames = []
    for window in rules.windows:
        starts_at, expires_at = next_window(window, as_of)
        frames.append(pd.DataFrame({
            "window": window.name, "eligible": eligible,
            "extra": np.where(eligible, extra, 0.0), "starts_at": starts_at,
            "expires_at": expires_at, "promotion_reason": reason,
        }, index=portfolio.index))
    return pd.concat(frames)
