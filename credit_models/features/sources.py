"""Event sources for features: contract tables, and facts derived from them dated at the instant
they become known.

A bill's outcome is not known at its statement date: whether it was paid on time is known at its
due date, how late it was paid is known when it is cured. Dating each derived fact at that instant
makes every source a plain time-stamped event stream, so one point-in-time rule (event time
strictly before as_of) covers them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_models.labels.delinquency import CURE_TOLERANCE, bill_cure_times

SECONDS_PER_DAY = 86_400.0

Tables = Mapping[str, pd.DataFrame]


@dataclass(frozen=True)
class SourceSpec:
    name: str
    description: str
    """Plural noun phrase used in feature descriptions ("orders", "bills due")."""
    event_noun: str
    """Singular token used in names of column-less features (``orders__order__count__30d``)."""
    columns: dict[str, str]
    """Usable columns and their kind: ``number`` or ``text``."""
    build: Callable[[Tables], pd.DataFrame]
    """Returns ``customer_id``, ``event_time`` and the columns, one row per event."""
    required_tables: tuple[str, ...]


def _values(values: pd.Series | np.ndarray):
    # ``.array`` keeps timezone-aware timestamps typed; ``to_numpy()`` would make Python objects.
    return values.array if isinstance(values, pd.Series) else values


def _events(frame: pd.DataFrame, time_column: str, columns: Mapping[str, pd.Series]) -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_id": frame["customer_id"].array,
         "event_time": frame[time_column].array,
         **{name: _values(values) for name, values in columns.items()}}
    )


def _orders(tables: Tables) -> pd.DataFrame:
    orders = tables["orders"]
    return _events(orders, "ordered_at", {
        "amount": orders["amount"],
        "instalment_months": orders["instalment_months"].astype("float64"),
        "is_instalment": (orders["instalment_months"] > 1).astype("float64"),
        "is_promotion": orders["is_promotion"].astype("float64"),
        "category": orders["category"].astype("str"),
        "channel": orders["channel"].astype("str"),
    })


def _repayments(tables: Tables) -> pd.DataFrame:
    repayments = tables["repayments"]
    return _events(repayments, "repaid_at", {"amount": repayments["amount"]})


def _statements(tables: Tables) -> pd.DataFrame:
    bills = tables["bills"]
    limit = bills["credit_limit"].where(bills["credit_limit"] > 0)
    return _events(bills, "statement_date", {
        "amount_due": bills["amount_due"],
        "minimum_due": bills["minimum_due"],
        "credit_limit": bills["credit_limit"],
        "utilisation": bills["amount_due"] / limit,
    })


def _paid_by_due(tables: Tables) -> pd.Series:
    """Repayments received against each bill up to its due date."""
    bills = tables["bills"][["bill_id", "due_date"]]
    repayments = tables["repayments"][["bill_id", "repaid_at", "amount"]].merge(
        bills, on="bill_id", how="inner"
    )
    on_time = repayments[repayments["repaid_at"] <= repayments["due_date"]]
    return on_time.groupby("bill_id")["amount"].sum()


def _due_outcomes(tables: Tables) -> pd.DataFrame:
    bills = tables["bills"]
    paid = bills["bill_id"].map(_paid_by_due(tables)).fillna(0.0)
    owed = bills["amount_due"].where(bills["amount_due"] > 0)
    met_minimum = paid >= bills["minimum_due"] - CURE_TOLERANCE
    paid_in_full = paid >= bills["amount_due"] - CURE_TOLERANCE
    has_balance = bills["amount_due"] > CURE_TOLERANCE
    return _events(bills, "due_date", {
        "paid_by_due": paid,
        "paid_share": (paid / owed).clip(upper=1.0),
        "is_on_time": met_minimum.astype("float64"),
        "is_missed": (~met_minimum).astype("float64"),
        "is_minimum_only": (met_minimum & ~paid_in_full & has_balance).astype("float64"),
        "minimum_due": bills["minimum_due"],
    })


CURED_BILLS = "_cured_bills"
"""Key of the bills-with-cure-times frame a caller may pass along with the tables, so that the
cure instants are computed once per chunk (they serve the cures source and the current DPD)."""


def cured_bills(tables: Tables) -> pd.DataFrame:
    if CURED_BILLS in tables:
        return tables[CURED_BILLS]
    return bill_cure_times(tables["bills"], tables["repayments"])


def _cures(tables: Tables) -> pd.DataFrame:
    cured = cured_bills(tables)
    cured = cured[cured["cured_at"].notna()]
    late = ((cured["cured_at"] - cured["due_date"]).dt.total_seconds() / SECONDS_PER_DAY).clip(
        lower=0.0
    )
    return _events(cured, "cured_at", {
        "days_late": late,
        "is_late": (late > 0).astype("float64"),
    })


def _limit_changes(tables: Tables) -> pd.DataFrame:
    events = tables["limit_events"]
    return _events(events, "changed_at", {
        "new_limit": events["new_limit"],
        "old_limit": events["old_limit"],
        "change": events["new_limit"] - events["old_limit"],
        "reason": events["reason"].astype("str"),
    })


def _declines(tables: Tables) -> pd.DataFrame:
    declines = tables["declines"]
    return _events(declines, "declined_at", {
        "amount": declines["amount"],
        "available_limit": declines["available_limit"],
        "reason": declines["reason"].astype("str"),
    })


SOURCES: dict[str, SourceSpec] = {
    spec.name: spec
    for spec in (
        SourceSpec("orders", "orders", "order",
                   {"amount": "number", "instalment_months": "number", "is_instalment": "number",
                    "is_promotion": "number", "category": "text", "channel": "text"},
                   _orders, ("orders",)),
        SourceSpec("repayments", "repayments", "repayment", {"amount": "number"},
                   _repayments, ("repayments",)),
        SourceSpec("statements", "statements", "statement",
                   {"amount_due": "number", "minimum_due": "number", "credit_limit": "number",
                    "utilisation": "number"},
                   _statements, ("bills",)),
        SourceSpec("due_outcomes", "bills at their due date", "bill",
                   {"paid_by_due": "number", "paid_share": "number", "is_on_time": "number",
                    "is_missed": "number", "is_minimum_only": "number", "minimum_due": "number"},
                   _due_outcomes, ("bills", "repayments")),
        SourceSpec("cures", "bills brought up to date", "cure",
                   {"days_late": "number", "is_late": "number"},
                   _cures, ("bills", "repayments")),
        SourceSpec("limit_changes", "limit changes", "change",
                   {"new_limit": "number", "old_limit": "number", "change": "number",
                    "reason": "text"},
                   _limit_changes, ("limit_events",)),
        SourceSpec("declines", "declined orders", "decline",
                   {"amount": "number", "available_limit": "number", "reason": "text"},
                   _declines, ("declines",)),
    )
}
