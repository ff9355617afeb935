"""Temporary promotion limits for 618 and Double 11: extra room during the campaign for customers
who use their line and are safe to give more, expiring on its own.

The point is the declined basket at the peak: customers with high utilisation are the ones whose
campaign orders do not fit. Eligibility is utilisation at or above ``min_utilisation``, PD below
``max_pd`` and no delinquency in the review guardrail's window; the extra is ``extra_share`` of the
permanent limit, at most ``max_extra``, on the rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_models.limits.policy import LimitPolicy, PromotionWindow
from credit_models.limits.target_limits import round_down

PROMOTION_REASONS = ("no_line", "recent_delinquency", "pd_above_promotion_max", "utilisation_low",
                     "extra_below_rounding", "promotion_raise")


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
    low_use = utilisation < rules.min_utilisation
    extra = round_down(np.minimum(rules.extra_share * limit, rules.max_extra), policy)
    eligible = (limit > 0) & ~delinquent & ~risky & ~low_use & (extra > 0)
    reason = np.select(
        [limit <= 0, delinquent, risky, low_use, ~eligible],
        ["no_line", "recent_delinquency", "pd_above_promotion_max", "utilisation_low",
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
