from __future__ import annotations

import pandas as pd
import pytest

from credit_models.errors import ConfigError, TrainingDataError
from credit_models.labels.capacity_target import (
    CapacityDefinition,
    capacity_target,
    statement_new_charges,
)
from tests.portfolio_builder import tiny_tables, utc


def _times(values: list[str]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True), dtype="datetime64[us, UTC]")


def test_capacity_target_is_the_peak_month_of_demand():
    tables = tiny_tables()
    tables["declines"]["declined_at"] = pd.Series([utc("2024-02-27")], dtype="datetime64[us, UTC]")
    snapshots = pd.DataFrame({"customer_id": [1, 2], "as_of": [utc("2024-01-01")] * 2})
    peak = capacity_target(snapshots, tables, CapacityDefinition(months=3), utc("2024-06-01"))
    assert peak.tolist() == [300.0, 1350.0]      # customer 2: 950 ordered + 400 declined in Feb
    granted_only = capacity_target(snapshots, tables,
                                   CapacityDefinition(months=3, include_declined=False),
                                   utc("2024-06-01"))
    assert granted_only.tolist() == [300.0, 950.0]
    no_declines = {"orders": tables["orders"]}
    mean = capacity_target(snapshots, no_declines, CapacityDefinition(months=3, statistic="mean"),
                           utc("2024-06-01"))
    assert mean.tolist() == [pytest.approx(400 / 3), pytest.approx(1000 / 3)]
    incomplete = capacity_target(snapshots, no_declines, CapacityDefinition(months=12),
                                 utc("2024-06-01"))
    assert incomplete.isna().all()


def _statement_tables() -> dict[str, pd.DataFrame]:
    """Customer 1: Jan 100 (paid in full), Feb 250 (50 paid), Mar 250 (paid), Apr 50 (20 paid on
    the Apr statement date, so it counts towards May), May 10. Customer 2: a credit balance
    (-30) in Feb, then 500 due in Mar with nothing repaid."""
    bills = pd.DataFrame({
        "bill_id": pd.Series([11, 12, 13, 14, 15, 21, 22], dtype="int64"),
        "customer_id": pd.Series([1, 1, 1, 1, 1, 2, 2], dtype="int64"),
        "statement_date": _times(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01",
                                  "2024-05-01", "2024-02-15", "2024-03-15"]),
        "due_date": _times(["2024-01-20", "2024-02-20", "2024-03-20", "2024-04-20",
                            "2024-05-20", "2024-03-05", "2024-04-05"]),
        "amount_due": [100.0, 250.0, 250.0, 50.0, 10.0, -30.0, 500.0],
        "minimum_due": [10.0, 25.0, 25.0, 5.0, 1.0, 0.0, 50.0],
        "credit_limit": [1000.0] * 7,
    })
    repayments = pd.DataFrame({
        "repayment_id": pd.Series([1, 2, 3, 4], dtype="int64"),
        "customer_id": pd.Series([1, 1, 1, 1], dtype="int64"),
        "bill_id": pd.Series([11, 12, 13, 14], dtype="int64"),
        "repaid_at": _times(["2024-01-15", "2024-02-20", "2024-03-10", "2024-04-01"]),
        "amount": [100.0, 50.0, 250.0, 20.0],
    })
    return {"bills": bills, "repayments": repayments}


def test_statement_new_charges_by_hand():
    tables = _statement_tables()
    charges = statement_new_charges(tables["bills"], tables["repayments"])
    # Jan: first statement 100; Feb 250 - (100 - 100); Mar 250 - (250 - 50); Apr 50 - (250 - 250);
    # May 10 - (50 - 20) < 0 -> 0. Customer 2: -30 -> 0; Mar 500 - (-30 - 0) = 530.
    assert charges["amount"].tolist() == [100.0, 250.0, 50.0, 50.0, 0.0, 0.0, 530.0]
    assert charges["customer_id"].tolist() == [1, 1, 1, 1, 1, 2, 2]


def test_capacity_target_from_statements():
    tables = _statement_tables()
    snapshots = pd.DataFrame({
        "customer_id": [1, 2, 1, 2],
        "as_of": [utc("2024-02-01")] * 2 + [utc("2024-03-01")] * 2,
    })
    definition = CapacityDefinition(months=3, demand="statements")
    peak = capacity_target(snapshots, tables, definition, utc("2024-06-01"))
    # 1 Feb: the Jan statement (before the window) only serves as the previous balance
    assert peak.tolist() == [250.0, 530.0, 50.0, 530.0]
    mean = capacity_target(snapshots.iloc[:2], tables,
                           CapacityDefinition(months=3, statistic="mean", demand="statements"),
                           utc("2024-06-01"))
    assert mean.tolist() == [pytest.approx(350 / 3), pytest.approx(530 / 3)]
    # no repayments at all is a valid (if unusual) table: every balance carries over
    unpaid = {"bills": tables["bills"], "repayments": tables["repayments"].iloc[:0]}
    assert capacity_target(snapshots.iloc[:1], unpaid, definition,
                           utc("2024-06-01")).tolist() == [150.0]
    incomplete = capacity_target(snapshots, tables, CapacityDefinition(months=6,
                                 demand="statements"), utc("2024-06-01"))
    assert incomplete.isna().all()


def test_statements_ignore_the_orders_table_and_orders_ignore_the_bills():
    tables = {**tiny_tables(), **_statement_tables()}
    snapshots = pd.DataFrame({"customer_id": [1], "as_of": [utc("2024-02-01")]})
    statements = capacity_target(snapshots, tables,
                                 CapacityDefinition(months=3, demand="statements",
                                                    include_declined=False),
                                 utc("2024-06-01"))
    assert statements.tolist() == [250.0]
    orders = capacity_target(snapshots, tables, CapacityDefinition(months=3), utc("2024-06-01"))
    assert orders.tolist() == [300.0]


@pytest.mark.parametrize("tables", [{}, {"orders": tiny_tables()["orders"].iloc[:0]}])
def test_a_missing_orders_table_names_the_statements_alternative(tables):
    snapshots = pd.DataFrame({"customer_id": [1], "as_of": [utc("2024-02-01")]})
    with pytest.raises(TrainingDataError, match=r"'orders'.*labels\.capacity\.demand=statements"):
        capacity_target(snapshots, tables, CapacityDefinition(), utc("2024-06-01"))


def test_a_missing_bills_table_is_named():
    snapshots = pd.DataFrame({"customer_id": [1], "as_of": [utc("2024-02-01")]})
    with pytest.raises(TrainingDataError, match="'bills'"):
        capacity_target(snapshots, {"orders": tiny_tables()["orders"]},
                        CapacityDefinition(demand="statements"), utc("2024-06-01"))


def test_unknown_demand_source_is_rejected():
    with pytest.raises(ConfigError, match="labels.capacity.demand"):
        CapacityDefinition(demand="payments")
