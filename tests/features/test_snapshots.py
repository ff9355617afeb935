from __future__ import annotations

import pandas as pd
import pytest

from credit_models.errors import ConfigError, DataContractError
from credit_models.features.snapshots import (
    customer_snapshots,
    default_snapshot_range,
    month_starts,
    read_snapshot_table,
)
from tests.portfolio_builder import tiny_tables, utc


def test_month_start_snapshots_only_include_customers_already_signed_up():
    snapshots = customer_snapshots(tiny_tables()["customers"],
                                   month_starts(utc("2024-01-01"), utc("2024-02-01")))
    # Customer 1 signed up at 2024-01-01 00:00, which is not strictly before that as_of.
    assert snapshots["customer_id"].tolist() == [1, 2]
    assert snapshots["as_of"].tolist() == [utc("2024-02-01")] * 2


def test_snapshot_dates_must_be_month_starts():
    with pytest.raises(ConfigError, match="month starts"):
        month_starts(utc("2024-01-15"), utc("2024-03-01"))


def test_default_range_leaves_history_before_and_a_window_after():
    first, last = default_snapshot_range(utc("2023-01-10"), utc("2025-07-01"), 6, 6)
    assert (first, last) == (utc("2023-07-01"), utc("2025-01-01"))
    with pytest.raises(ConfigError, match="too little time"):
        default_snapshot_range(utc("2025-01-10"), utc("2025-07-01"), 6, 6)


def test_user_snapshot_table_is_read_and_checked(tmp_path):
    customers = tiny_tables()["customers"]
    good = tmp_path / "snapshots.csv"
    good.write_text("customer_id,as_of\n1,2024-03-15T00:00:00Z\n2,2024-04-01T00:00:00+00:00\n")
    snapshots = read_snapshot_table(good, customers)
    assert snapshots["as_of"].tolist() == [utc("2024-03-15"), utc("2024-04-01")]
    naive = tmp_path / "naive.csv"
    naive.write_text("customer_id,as_of\n1,2024-03-15\n")
    with pytest.raises(DataContractError, match="UTC offset"):
        read_snapshot_table(naive, customers)
    broken = tmp_path / "broken.parquet"
    pd.DataFrame({"customer_id": [1, 9, 2, 2],
                  "as_of": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-01-02",
                                           "2024-01-02"], utc=True)}).to_parquet(broken)
    with pytest.raises(DataContractError) as raised:
        read_snapshot_table(broken, customers)
    message = str(raised.value)
    assert "existing customers.customer_id" in message
    assert "after the customer's sign-up" in message
    assert "must be unique" in message
