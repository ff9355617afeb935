"""What every adapter shares: its result type, its source error, and frames typed by the contract.

An adapter turns one public data set into the contract's tables. It never drops anything silently:
every source row and value either lands in a table or is counted in the adapter's report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from credit_models.data.contract import ATTRIBUTE_PREFIX, TABLES, ColumnSpec
from credit_models.data.io import EMPTY_TABLE_DTYPES, DatasetManifest

TIMESTAMP_DTYPE = EMPTY_TABLE_DTYPES["timestamp"]
"""The one timestamp dtype the adapters write (the contract accepts any unit, UTC)."""

_DTYPES = EMPTY_TABLE_DTYPES


@dataclass(frozen=True)
class AdaptedDataset:
    """A public data set converted to the contract: write it with ``io.write_tables``."""

    tables: dict[str, pd.DataFrame]
    manifest: DatasetManifest
    report: list[str]
    """Human-readable lines: rows read, rows written per table, what was left out or reconciled."""


class SourceDataError(ValueError):
    """The source file is not the data set the adapter expects (missing columns, bad values).

    The message names the file, the rule and the offending count, with a few examples.
    """


def column_dtype(column: ColumnSpec) -> str:
    """The pandas dtype the adapters use for a contract column (an absent table is read with
    the same ones: :func:`credit_models.data.io.empty_table`)."""
    return _DTYPES[column.kind]


def contract_frame(name: str, columns: dict[str, object]) -> pd.DataFrame:
    """Build a table from column values, in the contract's column order and dtypes.

    Attribute columns (``attr_*``) are kept as given after the contract columns, where the table
    allows them. A contract column missing from ``columns`` or an unknown extra column is a bug in
    the adapter and raises.
    """
    spec = TABLES[name]
    missing = [column.name for column in spec.columns if column.name not in columns]
    unknown = [
        key for key in columns
        if key not in spec.column_names
        and not (spec.allows_attributes and key.startswith(ATTRIBUTE_PREFIX))
    ]
    if missing or unknown:
        raise KeyError(f"table {name!r}: missing columns {missing}, unknown columns {unknown}")
    data: dict[str, pd.Series] = {}
    for column in spec.columns:
        values = columns[column.name]
        if column.kind == "timestamp":
            series = pd.Series(pd.to_datetime(values, utc=True)).astype(TIMESTAMP_DTYPE)
        else:
            series = pd.Series(values).astype(column_dtype(column))
        data[column.name] = series.reset_index(drop=True)
    for key, values in columns.items():
        if key.startswith(ATTRIBUTE_PREFIX):
            data[key] = pd.Series(values).reset_index(drop=True)
    return pd.DataFrame(data)


def attribute_name(source_column: str) -> str:
    """``attr_<snake_case>`` for a source column name (lower case, runs of other characters → _)."""
    snake = re.sub(r"[^0-9a-z]+", "_", source_column.strip().lower()).strip("_")
    if not snake:
        raise SourceDataError(f"column name {source_column!r} gives no usable attribute name")
    return f"{ATTRIBUTE_PREFIX}{snake}"


def read_source_csv(source_csv: str | Path, required: list[str]) -> pd.DataFrame:
    """Read a source CSV (gzip by file name) and check that the expected columns are there."""
    path = Path(source_csv)
    if not path.is_file():
        raise FileNotFoundError(f"source file {path} does not exist")
    frame = pd.read_csv(path)
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise SourceDataError(
            f"{path.name}: expected columns {missing} are missing; the file has "
            f"{list(frame.columns)}"
        )
    return frame


def require(frame: pd.DataFrame, bad: pd.Series, path: Path, rule: str,
            columns: list[str]) -> None:
    """Raise :class:`SourceDataError` naming the rule, the count and examples if any row is bad."""
    count = int(np.asarray(bad).sum())
    if count:
        examples = frame.loc[np.asarray(bad), columns].head(5).to_string(index=False)
        raise SourceDataError(f"{path.name}: {rule}: {count:,} row(s), e.g.\n{examples}")


def percent(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.2f} %" if whole else "n/a"
