"""A tiny hand-built portfolio for exact expectations: every table of the contract, two customers."""

from __future__ import annotations

import pandas as pd


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def _times(values: list[str]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True), dtype="datetime64[us, UTC]")


def tiny_tables() -> dict[str, pd.DataFrame]:
    """Customer 1 pays on time; customer 2 misses the February bill and cures in late March."""
    customers = pd.DataFrame({
        "customer_id": pd.Series([1, 2], dtype="int64"),
        "signed_up_at": _times(["2024-01-01", "2024-01-05"]),
        "attr_city_tier": pd.Series([1, 3], dtype="int64"),
        "attr_education": pd.Series(["university", "high_school"], dtype="str"),
    })
    orders = pd.DataFrame({
        "order_id": pd.Series([1, 2, 3, 4], dtype="int64"),
        "customer_id": pd.Series([1, 1, 2, 2], dtype="int64"),
        "ordered_at": _times(["2024-01-10", "2024-02-15", "2024-01-20", "2024-02-28"]),
        "amount": [100.0, 300.0, 50.0, 950.0],
        "category": pd.Series(["grocery", "electronics", "apparel", "electronics"], dtype="str"),
        "channel": pd.Series(["app", "app", "web", "app"], dtype="str"),
        "is_promotion": [False, False, False, True],
        "instalment_months": pd.Series([1, 3, 1, 1], dtype="int64"),
    })
    bills = pd.DataFrame({
        "bill_id": pd.Series([11, 12, 21, 22], dtype="int64"),
        "customer_id": pd.Series([1, 1, 2, 2], dtype="int64"),
        "statement_date": _times(["2024-02-01", "2024-03-01", "2024-02-01", "2024-03-01"]),
        "due_date": _times(["2024-02-20", "2024-03-20", "2024-02-20", "2024-03-20"]),
        "amount_due": [100.0, 100.0, 50.0, 1000.0],
        "minimum_due": [10.0, 100.0, 5.0, 100.0],
        "credit_limit": [1000.0, 1000.0, 1000.0, 1000.0],
    })
    repayments = pd.DataFrame({
        "repayment_id": pd.Series([1, 2, 3, 4], dtype="int64"),
        "customer_id": pd.Series([1, 1, 2, 2], dtype="int64"),
        "bill_id": pd.Series([11, 12, 21, 22], dtype="int64"),
        "repaid_at": _times(["2024-02-10", "2024-03-15", "2024-03-25", "2024-04-28"]),
        "amount": [100.0, 100.0, 5.0, 100.0],
    })
    limit_events = pd.DataFrame({
        "limit_event_id": pd.Series([1, 2, 3], dtype="int64"),
        "customer_id": pd.Series([1, 2, 2], dtype="int64"),
        "changed_at": _times(["2024-01-01", "2024-01-05", "2024-02-20"]),
        "old_limit": [float("nan"), float("nan"), 1000.0],
        "new_limit": [1000.0, 1000.0, 1000.0],
        "reason": pd.Series(["initial", "initial", "risk_cut"], dtype="str"),
        "expires_at": pd.Series(pd.NaT, index=range(3), dtype="datetime64[us, UTC]"),
    })
    declines = pd.DataFrame({
        "decline_id": pd.Series([1], dtype="int64"),
        "customer_id": pd.Series([2], dtype="int64"),
        "declined_at": _times(["2024-03-02"]),
        "amount": [400.0],
        "reason": pd.Series(["insufficient_limit"], dtype="str"),
        "available_limit": [50.0],
        "category": pd.Series(["electronics"], dtype="str"),
    })
    return {
        "customers": customers, "orders": orders, "bills": bills, "repayments": repayments,
        "limit_events": limit_events, "declines": declines,
    }


EXTRACTION_DATE = utc("2024-06-01")
