"""Days past due, derived from bills and repayments: the one definition features and labels share.

A bill is *cured* at the instant the repayments allocated to it reach its minimum due. Its days
past due (DPD) run from the due date until that instant. An account's DPD at a date is the age of
its oldest uncured bill. Computing the cure instant once from all repayments is point-in-time safe:
the predicate "uncured at t" only depends on repayments before t.
"""

from __future__ import annotations

import pandas as pd

CURE_TOLERANCE = 0.005
"""Half a cent: amounts are decimals and sums of floats must not leave a bill a hair short."""


def bill_cure_times(bills: pd.DataFrame, repayments: pd.DataFrame) -> pd.DataFrame:
    """Bills with a ``cured_at`` column: when cumulative repayments first reach the minimum due.

    A bill whose minimum due is zero is cured at its statement date; one never paid up to the
    minimum has ``cured_at`` NaT.
    """
    paid = repayments[["bill_id", "repaid_at", "amount", "repayment_id"]].sort_values(
        ["bill_id", "repaid_at", "repayment_id"], kind="stable"
    )
    paid = paid.assign(cumulative=paid.groupby("bill_id", sort=False)["amount"].cumsum())
    minimum = bills.set_index("bill_id")["minimum_due"]
    reaches = paid["cumulative"].to_numpy() >= (
        minimum.reindex(paid["bill_id"]).to_numpy() - CURE_TOLERANCE
    )
    first_reach = paid.loc[reaches].groupby("bill_id", sort=False)["repaid_at"].first()
    cured_at = first_reach.reindex(bills["bill_id"]).array
    result = bills.assign(cured_at=cured_at)
    nothing_due = result["minimum_due"] <= CURE_TOLERANCE
    result.loc[nothing_due, "cured_at"] = result.loc[nothing_due, "statement_date"]
    return result


def days_past_due_at(bills_with_cure: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Each customer's DPD at ``as_of`` from what is known strictly before it (0 when current).

    Customers with no bill due before ``as_of`` are absent from the result.
    """
    due_before = bills_with_cure[bills_with_cure["due_date"] < as_of]
    uncured = due_before["cured_at"].isna() | (due_before["cured_at"] >= as_of)
    days = ((as_of - due_before["due_date"]).dt.total_seconds() / 86_400.0).where(uncured, 0.0)
    return days.groupby(due_before["customer_id"]).max().rename("days_past_due")


def bad_event_times(bills_with_cure: pd.DataFrame, bad_days_past_due: int) -> pd.Series:
    """For every bill, the instant its DPD reaches ``bad_days_past_due`` (NaT if it never does)."""
    reached = bills_with_cure["due_date"] + pd.Timedelta(days=bad_days_past_due)
    cured = bills_with_cure["cured_at"]
    still_uncured = cured.isna() | (cured > reached)
    return reached.where(still_uncured)
