"""Snapshots: the (customer, as_of) pairs a model is trained, validated or scored on."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from credit_models.errors import ConfigError, ContractViolation, DataContractError
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


def read_snapshot_table(path: str | Path, customers: pd.DataFrame) -> pd.DataFrame:
    """A user-given snapshot table (Parquet or CSV with ``customer_id`` and ``as_of``).

    Rows naming an unknown customer, or an as_of at or before the customer's sign-up, are
    errors listed with examples, not rows to drop.
    """
    path = Path(path)
    frame = pd.read_csv(path) if path.suffix in (".csv", ".gz") else pd.read_parquet(path)
    missing = [c for c in ("customer_id", "as_of") if c not in frame.columns]
    if missing:
        raise DataContractError([ContractViolation("snapshots", c, "required column is missing",
                                                   len(frame)) for c in missing])
    as_of = frame["as_of"]
    if not isinstance(as_of.dtype, pd.DatetimeTZDtype):
        # CSV has no timestamp type: ISO text with an explicit offset is required, never guessed.
        parsed = pd.to_datetime(as_of, utc=False, errors="coerce", format="ISO8601")
        if not isinstance(parsed.dtype, pd.DatetimeTZDtype) or parsed.isna().any():
            bad = frame[parsed.isna()] if parsed.isna().any() else frame.head()
            raise DataContractError([ContractViolation(
                "snapshots", "as_of", "must be a timestamp with a UTC offset "
                "(e.g. 2024-07-01T00:00:00Z)", len(bad), bad.head())])
        as_of = parsed
    snapshots = pd.DataFrame({"customer_id": frame["customer_id"].astype("int64"),
                              "as_of": as_of.dt.tz_convert("UTC")})
    signed_up = snapshots["customer_id"].map(customers.set_index("customer_id")["signed_up_at"])
    violations = []
    unknown = signed_up.isna()
    if unknown.any():
        violations.append(ContractViolation("snapshots", "customer_id",
                                            "must reference an existing customers.customer_id",
                                            int(unknown.sum()), snapshots[unknown].head()))
    early = ~unknown & (snapshots["as_of"] <= signed_up)
    if early.any():
        violations.append(ContractViolation("snapshots", "as_of",
                                            "must be after the customer's sign-up",
                                            int(early.sum()), snapshots[early].head()))
    duplicated = snapshots.duplicated()
    if duplicated.any():
        violations.append(ContractViolation("snapshots", "customer_id",
                                            "(customer_id, as_of) must be unique",
                                            int(duplicated.sum()), snapshots[duplicated].head()))
    if violations:
        raise DataContractError(violations)
    return snapshots
