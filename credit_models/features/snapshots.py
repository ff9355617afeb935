"""Snapshots: the (customer, as_of) pairs a model is trained, validated or scored on."""

from __future__ import annotations

import pandas as pd

from credit_models.errors import ConfigError
from credit_models.timestamps import utc_timestamp


def month_starts(first: pd.Timestamp, last: pd.Timestamp) -> list[pd.Timestamp]:
    """Month-start instants from ``first`` to ``last`` inclusive.

    A month-start as_of is the month-end snapshot of the month before: it sees every event of that
    month and nothing of the next.
    """
    first, last = utc_timestamp(first), utc_timestamp(last)
    for value in (first, last):
        if value != _month_floor(value):
            raise ConfigError(f"snapshot dates must be month starts (YYYY-MM-01); got {value}")
    if last < first:
        raise ConfigError(f"last snapshot {last.date()} is before the first {first.date()}")
    return list(pd.date_range(first, last, freq="MS"))


def customer_snapshots(customers: pd.DataFrame, as_of_dates: list[pd.Timestamp]) -> pd.DataFrame:
    """Every customer whose line was open strictly before each as_of."""
    frames = [
        pd.DataFrame(
            {
                "customer_id": customers.loc[
                    customers["signed_up_at"] < as_of, "customer_id"
                ].to_numpy(),
                "as_of": as_of,
            }
        )
        for as_of in as_of_dates
    ]
    if not frames:
        return pd.DataFrame(
            {"customer_id": pd.Series(dtype="int64"),
             "as_of": pd.Series(dtype="datetime64[us, UTC]")}
        )
    return pd.concat(frames, ignore_index=True)


def default_snapshot_range(
    first_event: pd.Timestamp,
    extraction_date: pd.Timestamp,
    min_history_months: int,
    performance_months: int,
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """From the first month start with ``min_history_months`` of history to the last month start
    whose performance window ends by the extraction date."""
    first = _month_floor(first_event) + pd.DateOffset(months=min_history_months)
    last = _month_floor(extraction_date - pd.DateOffset(months=performance_months))
    if last < first:
        raise ConfigError(
            f"the data cover too little time: the first snapshot with {min_history_months} months "
            f"of history is {first.date()}, but the last with a complete {performance_months}-month "
            f"performance window is {last.date()}"
        )
    return first, last


def _month_floor(timestamp: pd.Timestamp) -> pd.Timestamp:
    return timestamp.normalize().replace(day=1)
