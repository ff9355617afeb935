"""A data fingerprint: enough to tell whether two runs saw the same data."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import pandas as pd

from credit_models.data.contract import TABLES


def table_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of the rows' content (column order and names included, storage layout not)."""
    digest = hashlib.sha256()
    digest.update("|".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """:func:`table_digest` of a frame whatever its storage: the same whether it was built, read
    from a cache or from Parquet (timestamps count as UTC nanoseconds, text and categories as
    their values)."""
    canonical = {}
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            column = column.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        elif pd.api.types.is_datetime64_dtype(column.dtype):
            column = column.astype("datetime64[ns]")
        elif not pd.api.types.is_numeric_dtype(column.dtype) or isinstance(
                column.dtype, pd.CategoricalDtype):
            column = column.astype(object).where(column.notna(), None)
        canonical[name] = column
    return table_digest(pd.DataFrame(canonical, index=frame.index))


def data_fingerprint(tables: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """Per table: row count, content hash and the date range of its events."""
    fingerprint: dict[str, Any] = {}
    for name, frame in sorted(tables.items()):
        entry: dict[str, Any] = {"rows": len(frame), "sha256": table_digest(frame)}
        time_column = TABLES[name].time_column if name in TABLES else None
        if time_column and len(frame):
            entry["first"] = frame[time_column].min().isoformat()
            entry["last"] = frame[time_column].max().isoformat()
        fingerprint[name] = entry
    combined = hashlib.sha256("".join(e["sha256"] for e in fingerprint.values()).encode())
    fingerprint["combined_sha256"] = combined.hexdigest()
    return fingerprint
