"""Reading and writing a data set: a folder with one Parquet file or part-file folder per table.

A data set folder also holds ``manifest.json`` (its extraction date, where it came from), written
atomically last so that a folder without a manifest is recognisably incomplete. Application data
(``customers`` and ``labels`` only) may leave the event tables out: :func:`complete_tables` is the
one place that turns them into empty tables, applied on reading, so every later stage sees the
same tables. A folder the
toolkit writes also carries its marker (:mod:`credit_models.data.folders`): only such a folder,
or an empty one, is ever replaced. Reading either returns every row of every table or raises a
:class:`DatasetReadError` naming the file, what is wrong with it and how to fix it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from credit_models.data.contract import TABLES
from credit_models.data.folders import (
    ForeignEntries,
    atomic_write_text,
    describe_names,
    ensure_replaceable,
    files_under,
    replace_folder,
    staging_folder,
    unmarked_entries,
    write_marker,
)
from credit_models.errors import DatasetReadError
from credit_models.timestamps import utc_timestamp

MANIFEST_NAME = "manifest.json"
PARQUET_MAGIC = b"PAR1"
"""First and last four bytes of every Parquet file."""
TABLES_WRITER = "write_tables"
REWRITE_FIX = (
    "Write the table again with DataFrame.to_parquet(path, index=False) (data/README.md, "
    "'Layout of a data set'), or move the file out of the data set folder."
)
MANIFEST_EXAMPLE = (
    '{"extraction_date": "2025-07-01T00:00:00+00:00", "source": "warehouse", "details": {}}'
)
MINIMAL_MANIFEST_EXAMPLE = '{"extraction_date": "2025-07-01T00:00:00+00:00", "source": "warehouse"}'
"""The smallest valid manifest: ``details`` is optional."""
ABSENT_TABLE = "credit_models.absent_table"
"""Key of ``DataFrame.attrs`` set on a table that was absent and read as empty, so that
validation can say so instead of reporting an ordinary empty table."""
EMPTY_TABLE_DTYPES = {
    "int": "int64", "float": "float64", "string": "str", "bool": "bool",
    "timestamp": "datetime64[us, UTC]",
}
"""The dtypes of a table read as empty: those the adapters write, so an absent table and an
empty file read alike."""


@dataclass(frozen=True)
class DatasetManifest:
    """What a consumer must know about a data set that is not in its rows."""

    extraction_date: str
    """ISO timestamp (UTC): no event may be dated at or after it."""
    source: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def extraction_timestamp(self) -> pd.Timestamp:
        return utc_timestamp(self.extraction_date)


def table_path(root: Path, table: str) -> Path | None:
    """Where a table lives under ``root``: a ``<table>.parquet`` file, or a part folder named
    ``<table>/`` or ``<table>.parquet/`` (as Spark writes it); None when absent. Two of them for
    one table is an error: reading one would silently leave out the other's rows."""
    candidates = [
        path for path in (root / f"{table}.parquet", root / table)
        if path.is_file() or (path.is_dir() and _visible_entries(path))
    ]
    if len(candidates) > 1:
        raise DatasetReadError(
            f"table {table!r} is stored twice in {root}: {candidates[0].name} and "
            f"{candidates[1].name}/. Keep one of them (a single Parquet file or a folder of part "
            "files) and move the other out of the data set folder."
        )
    return candidates[0] if candidates else None


def read_table(root: str | Path, table: str) -> pd.DataFrame | None:
    """One table exactly as stored (no casting: validation judges the dtypes), or None if absent."""
    path = table_path(Path(root), table)
    if path is None:
        return None
    if path.is_file():
        return _read_parquet_file(path, table)
    parts = _part_files(path, table)
    return pd.concat([_read_parquet_file(part, table) for part in parts], ignore_index=True)


def read_tables(root: str | Path) -> dict[str, pd.DataFrame]:
    """Every contract table present under ``root``, in contract order; files the contract does not
    know are skipped here and reported by validation.

    An absent event table of a data set whose ``labels`` table has rows (application data) is
    read as an empty table with the contract's columns and dtypes (:func:`complete_tables`),
    marked as absent for validation to report. Any other absent table stays absent: validation
    names a missing required one."""
    root = Path(root)
    if not root.is_dir():
        what = "is a file, not a folder" if root.is_file() else "does not exist"
        raise DatasetReadError(
            f"data set folder {root} {what}: a data set is a folder holding {MANIFEST_NAME} and "
            "one Parquet file or part folder per table (data/README.md, 'Layout of a data set')."
        )
    tables = {}
    for name in TABLES:
        frame = read_table(root, name)
        if frame is not None:
            tables[name] = frame
    return complete_tables(tables)


def complete_tables(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``tables`` with each absent table that may be left out (a required table whose rows are
    exempt, see :meth:`~credit_models.data.contract.TableSpec.rows_exempt`) as an empty table,
    marked :func:`was_absent`; contract tables in contract order, then any others. The frames
    given are not copied or changed.

    The one statement of "absent means empty": :func:`read_tables` applies it, so every stage
    after reading sees complete tables, and validation applies it to what it is given, so an
    in-memory data set (an adapter's output) is judged as its written-and-read form would be."""
    completed = dict(tables)
    for name, spec in TABLES.items():
        if name not in completed and spec.rows_exempt(completed):
            frame = empty_table(name)
            frame.attrs[ABSENT_TABLE] = True
            completed[name] = frame
    return {
        **{name: completed[name] for name in TABLES if name in completed},
        **{name: frame for name, frame in completed.items() if name not in TABLES},
    }


def empty_table(name: str) -> pd.DataFrame:
    """A table with no rows and exactly the contract's columns and dtypes."""
    return pd.DataFrame({
        column.name: pd.Series(dtype=EMPTY_TABLE_DTYPES[column.kind])
        for column in TABLES[name].columns
    })


def was_absent(frame: pd.DataFrame) -> bool:
    """Whether :func:`complete_tables` made this table up as empty because it was absent."""
    return bool(frame.attrs.get(ABSENT_TABLE, False))


def unknown_table_files(root: str | Path) -> list[str]:
    """Parquet files or folders under ``root`` that are not contract tables."""
    root = Path(root)
    known = set(TABLES)
    names = []
    for entry in sorted(root.iterdir()):
        stem = entry.name.removesuffix(".parquet")
        is_table_like = entry.suffix == ".parquet" or (
            entry.is_dir() and any(entry.glob("*.parquet"))
        )
        if is_table_like and stem not in known and not entry.name.startswith(("_", ".")):
            names.append(entry.name)
    return names


def read_manifest(root: str | Path) -> DatasetManifest | None:
    """The folder's manifest, or None when it has none; a malformed one is an error naming the
    file and the problem."""
    path = Path(root) / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise _manifest_error(path, f"cannot be read ({error})") from error
    except json.JSONDecodeError as error:
        raise _manifest_error(
            path, f"is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from error
    if not isinstance(payload, dict):
        raise _manifest_error(path, f"holds a JSON {type(payload).__name__}, not an object")
    keys = {item.name for item in dataclasses.fields(DatasetManifest)}
    unknown = sorted(set(payload) - keys)
    missing = sorted({"extraction_date", "source"} - set(payload))
    if unknown or missing:
        problems = ([f"unknown key(s) {unknown}"] if unknown else []) + (
            [f"missing key(s) {missing}"] if missing else []
        )
        raise _manifest_error(path, f"has {' and '.join(problems)}; the keys are {sorted(keys)}")
    for key, kind in (("extraction_date", str), ("source", str), ("details", dict)):
        if key in payload and not isinstance(payload[key], kind):
            raise _manifest_error(
                path, f"{key} must be a JSON {'string' if kind is str else 'object'}; "
                f"got {payload[key]!r}"
            )
    manifest = DatasetManifest(**payload)
    try:
        utc_timestamp(manifest.extraction_date)
    except (ValueError, TypeError) as error:
        raise _manifest_error(
            path, f"extraction_date {manifest.extraction_date!r} is not a date ({error}); write "
            "an ISO timestamp such as 2025-07-01T00:00:00+00:00"
        ) from error
    return manifest


def write_manifest(root: str | Path, manifest: DatasetManifest) -> None:
    atomic_write_text(Path(root) / MANIFEST_NAME, json.dumps(asdict(manifest), indent=2))


def write_tables(
    tables: Mapping[str, pd.DataFrame], root: str | Path, manifest: DatasetManifest
) -> Path:
    """Write a whole data set atomically: into a sibling temporary folder, then renamed into place,
    so a failure never leaves a half-written data set where a reader would find it. An existing
    folder is replaced only when the toolkit wrote it (see :func:`dataset_foreign_entries`)."""
    root = Path(root)
    legacy = legacy_tables_layout(manifest.source)
    dataset_folder_check(root, legacy)
    staging = staging_folder(root)
    try:
        for name, frame in tables.items():
            if name not in TABLES:
                raise KeyError(f"unknown table {name!r}; the contract knows {sorted(TABLES)}")
            frame.to_parquet(staging / f"{name}.parquet", index=False)
        write_manifest(staging, manifest)
        write_marker(staging, TABLES_WRITER, manifest.source, manifest.details)
        replace_folder(staging, root, dataset_foreign_entries(legacy), dataset_folder_fix(root))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return root


def dataset_folder_fix(root: Path) -> str:
    """What to do instead of writing a data set into someone else's folder."""
    return (
        f"To read the data set already in this folder, select it with `data=parquet "
        f"data.path={root}`; to generate or convert one, set data.path to a new or empty folder "
        "(or move the entries listed out of it yourself)."
    )


def dataset_folder_check(root: Path, legacy: Callable[[Path], bool] | None = None) -> None:
    """Fail before any work when an existing ``root`` is not a data set the toolkit wrote."""
    ensure_replaceable(root, dataset_foreign_entries(legacy), dataset_folder_fix(root))


def dataset_foreign_entries(legacy: Callable[[Path], bool] | None = None) -> ForeignEntries:
    """The ownership rule of data set folders: an entry is the toolkit's when the folder's marker
    lists it, or when ``legacy`` recognises the unmarked folder as an older version's output."""
    return lambda folder: unmarked_entries(folder, legacy)


def legacy_layout(source: str, entries: set[str]) -> Callable[[Path], bool]:
    """Recognises an unmarked data set written by a version before the marker: its manifest says
    ``source``, every entry is one such a writer writes and every file below is Parquet."""

    def recognise(folder: Path) -> bool:
        names = {entry.name for entry in folder.iterdir()}
        if MANIFEST_NAME not in names or not names <= entries | {MANIFEST_NAME}:
            return False
        if any(not name.endswith(".parquet") for name in files_under(folder)
               if name != MANIFEST_NAME):
            return False
        try:
            manifest = read_manifest(folder)
        except DatasetReadError:
            return False
        return manifest is not None and manifest.source == source

    return recognise


def legacy_tables_layout(source: str) -> Callable[[Path], bool]:
    """An unmarked folder as :func:`write_tables` wrote it before the marker."""
    return legacy_layout(source, {f"{name}.parquet" for name in TABLES})


class PartWriter:
    """Appends numbered Parquet part files per table, for generators that work in chunks and
    must keep memory bounded."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._counts: dict[str, int] = {}

    def write(self, tables: Mapping[str, pd.DataFrame]) -> None:
        for name, frame in tables.items():
            if name not in TABLES:
                raise KeyError(f"unknown table {name!r}; the contract knows {sorted(TABLES)}")
            index = self._counts.get(name, 0)
            folder = self.root / name
            folder.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(folder / f"part-{index:05d}.parquet", index=False)
            self._counts[name] = index + 1


def _visible_entries(folder: Path) -> list[Path]:
    """A part folder's entries, less the ``_``/``.`` files writers leave (``_SUCCESS``, ``.crc``)."""
    return sorted(entry for entry in folder.iterdir() if not entry.name.startswith(("_", ".")))


def _part_files(folder: Path, table: str) -> list[Path]:
    """The Parquet part files of a table folder; anything else in it would be silently skipped,
    so it is an error."""
    entries = _visible_entries(folder)
    others = [entry for entry in entries if not (entry.is_file() and entry.suffix == ".parquet")]
    if others:
        names = describe_names(entry.name + ("/" if entry.is_dir() else "") for entry in others)
        raise DatasetReadError(
            f"part folder {folder} of table {table!r} holds {len(others)} entr"
            f"{'y' if len(others) == 1 else 'ies'} that are not Parquet part files ({names}); "
            "their rows would not be read. A part folder holds only <name>.parquet files (no "
            "subfolders: write partitioned tables flat); move the others out."
        )
    return entries


def _read_parquet_file(path: Path, table: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise DatasetReadError(
            f"cannot read table {table!r} from {path}: {_parquet_problem(path, error)}. "
            f"{REWRITE_FIX}"
        ) from error


def _parquet_problem(path: Path, error: Exception) -> str:
    """What is wrong with a file Parquet cannot read, in the user's terms."""
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            head = file.read(len(PARQUET_MAGIC))
            file.seek(max(size - len(PARQUET_MAGIC), 0))
            tail = file.read(len(PARQUET_MAGIC))
    except OSError as io_error:
        return f"the file cannot be opened ({io_error})"
    if size == 0:
        return "the file is empty (0 bytes)"
    if head != PARQUET_MAGIC:
        with path.open("rb") as file:
            start = file.read(40)
        looks_like_text = all(byte in b"\t\r\n" or 32 <= byte < 127 for byte in start)
        kind = "text (CSV?)" if looks_like_text else "another format"
        return (f"it is not a Parquet file but {kind}: it begins with {start!r} instead of "
                f"{PARQUET_MAGIC!r}")
    if tail != PARQUET_MAGIC:
        return (f"the file is truncated ({size:,} bytes, no Parquet footer at the end): the copy "
                "or the write that made it was cut short")
    return f"the file is damaged ({error})"


def _manifest_error(path: Path, problem: str) -> DatasetReadError:
    return DatasetReadError(
        f"{path} {problem}. A manifest looks like {MANIFEST_EXAMPLE} (data/README.md, 'Layout of "
        "a data set'); fix the file, or remove it and set data.extraction_date instead."
    )
