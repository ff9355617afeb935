"""One way to turn user-given dates into the contract's timezone-aware UTC timestamps."""

from __future__ import annotations

import pandas as pd


def utc_timestamp(value: str | pd.Timestamp) -> pd.Timestamp:
    """A naive value is read as UTC; an aware one is converted to UTC."""
    timestamp = pd.Timestamp(value)
    if timestamp.tzinfo is None:
        return timestamp.tz_localize("UTC")
    return timestamp.tz_convert("UTC")
