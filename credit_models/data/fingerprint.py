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
