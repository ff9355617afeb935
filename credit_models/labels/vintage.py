"""Vintage curves and roll rates: how a portfolio's delinquency develops, before any model.

A *vintage* is the cohort of accounts opened in one month. Its curve is the cumulative share of
its accounts that reached N+ days past due by each month on book, so that cohorts booked under
different conditions (a looser approval policy, a peak-season campaign, a downturn) can be
compared at the same age. *Roll rates* are the month-to-month transitions between delinquency
buckets (current, 1–29, 30–59 … days past due): the share of 30–59 accounts that roll on to 60–89
is what collections capacity and loss forecasts are planned on.

Both read days past due from :mod:`credit_models.labels.delinquency`, the one definition labels
and features share, and use only what was known at each point: an account enters a curve's month
``m`` only when ``m`` months on book have passed before the extraction date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from credit_models.errors import ConfigError
from credit_models.labels.delinquency import bad_event_times, bill_cure_times, days_past_due_at

CURRENT = "current"
COHORTS = {
    "month": lambda opened: opened.dt.strftime("%Y-%m"),
    "quarter": lambda opened: opened.dt.year.astype(str) + "-Q" + opened.dt.quarter.astype(str),
}
"""How accounts are grouped into vintages, by the timestamp their line was opened."""


def vintage_curves(
    customers: pd.DataFrame,
    bills: pd.DataFrame,
    repayments: pd.DataFrame,
    extraction: pd.Timestamp,
    *,
    bad_days_past_due: int = 30,
    max_months_on_book: int = 24,
    cohort_by: str = "month",
) -> pd.DataFrame:
    """Cumulative bad share by cohort (``signed_up_at``'s month, or quarter with
    ``cohort_by="quarter"``: fewer, larger cohorts for a small portfolio) and months on book.

    Returns one row per cohort and month on book ``m`` in ``1..max_months_on_book`` that every
    account of the cohort has completed by ``extraction``: ``accounts`` (the cohort's size),
    ``bad_accounts`` (ever ``bad_days_past_due``+ days past due within their first ``m``
    months) and ``bad_share``. Later months of young cohorts are absent, never extrapolated.
    """
    if bad_days_past_due < 1 or max_months_on_book < 1:
        raise ConfigError("vintage curves need bad_days_past_due >= 1 and max_months_on_book >= 1 "
                          f"(got {bad_days_past_due} and {max_months_on_book})")
    if cohort_by not in COHORTS:
        raise ConfigError(f"cohort_by must be one of {sorted(COHORTS)}, got {cohort_by!r}")
    extraction = pd.Timestamp(extraction)
    events = bad_event_times(bill_cure_times(bills, repayments), bad_days_past_due)
    first_bad = events.groupby(bills["customer_id"].to_numpy()).min()
    accounts = customers[["customer_id", "signed_up_at"]].assign(
        cohort=COHORTS[cohort_by](customers["signed_up_at"]),
        first_bad=customers["customer_id"].map(first_bad),
    )
    rows = []
    for months in range(1, max_months_on_book + 1):
        closes = accounts["signed_up_at"] + pd.DateOffset(months=months)
        # a cohort's point at m months is shown once every account in it has reached m months,
        # so each curve keeps one denominator and never falls
        complete = (closes <= extraction).groupby(accounts["cohort"]).transform("all")
        if not complete.any():
            break
        observed = accounts[complete]
        bad = observed["first_bad"] < closes[complete]
        counts = bad.groupby(observed["cohort"]).agg(["size", "sum"])
        rows.append(pd.DataFrame({
            "cohort": counts.index, "months_on_book": months,
            "accounts": counts["size"].to_numpy(), "bad_accounts": counts["sum"].to_numpy(),
        }))
    columns = ["cohort", "months_on_book", "accounts", "bad_accounts", "bad_share"]
    if not rows:
        return pd.DataFrame(columns=columns)
    curves = pd.concat(rows, ignore_index=True)
    curves["bad_share"] = curves["bad_accounts"] / curves["accounts"]
    return curves.sort_values(["cohort", "months_on_book"], ignore_index=True)[columns]


def bucket_labels(edges: Sequence[int]) -> list[str]:
    """``(1, 30, 60, 90)`` → current, 1-29, 30-59, 60-89, 90+ (days past due)."""
    edges = list(edges)
    if not edges or edges[0] < 1 or any(b <= a for a, b in pairwise(edges)):
        raise ConfigError(f"delinquency bucket edges must be increasing days >= 1, got {edges}")
    inner = [f"{low}-{high - 1}" for low, high in pairwise(edges)]
    return [CURRENT, *inner, f"{edges[-1]}+"]


@dataclass(frozen=True)
class RollRates:
    """Transitions between delinquency buckets from one month-start to the next, summed over the
    months observed: ``counts`` (accounts, from-bucket rows × to-bucket columns) and ``shares``
    (each row sums to 1)."""

    counts: pd.DataFrame
    transitions: int
    """How many month-to-month steps were summed."""

    @property
    def shares(self) -> pd.DataFrame:
        totals = self.counts.sum(axis=1)
        return self.counts.div(totals.where(totals > 0), axis=0)

    @property
    def roll_forward(self) -> pd.Series:
        """Share of each bucket that moved to a worse bucket a month later: the collections view."""
        shares = self.shares.to_numpy()
        worse = [np.nansum(shares[row, row + 1:]) for row in range(len(shares))]
        return pd.Series(worse, index=self.counts.index, name="roll_forward")


def roll_rates(
    bills: pd.DataFrame,
    repayments: pd.DataFrame,
    dates: Sequence[pd.Timestamp] | pd.DatetimeIndex,
    *,
    bucket_edges: Sequence[int] = (1, 30, 60, 90),
) -> RollRates:
    """Bucket transitions between consecutive ``dates`` (e.g. month starts), each account's days
    past due read as known at that date. Accounts with no bill due yet at the earlier date are not
    counted: they cannot be in any bucket."""
    labels = bucket_labels(bucket_edges)
    stamps = sorted(pd.Timestamp(date) for date in dates)
    if len(stamps) < 2:
        raise ConfigError(f"roll rates need at least two dates, got {len(stamps)}")
    cured = bill_cure_times(bills, repayments)
    bins = [-np.inf, *[edge - 0.5 for edge in bucket_edges], np.inf]

    def buckets(at: pd.Timestamp) -> pd.Series:
        days = np.floor(days_past_due_at(cured, at))
        return pd.cut(days, bins=bins, labels=labels, right=False)

    counts = pd.DataFrame(0, index=pd.Index(labels, name="from"),
                          columns=pd.Index(labels, name="to"))
    before = buckets(stamps[0])
    for at in stamps[1:]:
        after = buckets(at)
        pairs = pd.crosstab(before, after.reindex(before.index), dropna=False)
        counts = counts.add(pairs.reindex(index=labels, columns=labels, fill_value=0),
                            fill_value=0)
        before = after
    return RollRates(counts=counts.astype(int), transitions=len(stamps) - 1)
