"""Reading and writing a data set: a folder with one Parquet file or part-file folder per table.

A data set folder also holds ``manifest.json`` (its extraction date, where it came from), written
atomically last so that a folder without a manifest is recognisably incomplete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from credit_models.data.contract import TABLES
from credit_models.timestamps import utc_timestamp

MANIFEST_NAME = "manifest.json"


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
    """Where a table lives under ``root``: ``<table>.parquet`` or a ``<table>/`` part folder."""
    single = root / f"{table}.parquet"
    if single.is_file():
        return single
    folder = root / table
    if folder.is_dir() and any(folder.glob("*.parquet")):
        return folder
    return None


def read_table(root: str | Path, table: str) -> pd.DataFrame | None:
    """One table exactly as stored (no casting: validation judges the dtypes), or None if absent."""
    path = table_path(Path(root), table)
    if path is None:
        return None
    if path.is_dir():
        parts = sorted(path.glob("*.parquet"))
        return pd.concat([pd.read_parquet(part) for part in parts], ignore_index=True)
    return pd.read_parquet(path)


def read_tables(root: str | Path) -> dict[str, pd.DataFrame]:
    """Every contract table present under ``root``; files the contract does not know are skipped
    here and reported by validation."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data set folder {root} does not exist")
    tables = {}
    for name in TABLES:
        frame = read_table(root, name)
        if frame is not None:
            tables[name] = frame
    return tables


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
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        return None
    payload = json.loads(path.read_text())
    return DatasetManifest(**payload)


def write_manifest(root: str | Path, manifest: DatasetManifest) -> None:
    _atomic_write_text(Path(root) / MANIFEST_NAME, json.dumps(asdict(manifest), indent=2))


def write_tables(
    tables: Mapping[str, pd.DataFrame], root: str | Path, manifest: DatasetManifest
) -> Path:
    """Write a whole data set atomically: into a sibling temporary folder, then renamed into place,
    so a failure never leaves a half-written data set where a reader would find it."""
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        for name, frame in tables.items():
            if name not in TABLES:
                raise KeyError(f"unknown table {name!r}; the contract knows {sorted(TABLES)}")
            frame.to_parquet(staging / f"{name}.parquet", index=False)
        write_manifest(staging, manifest)
        replace_folder(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return root


def replace_folder(staging: Path, target: Path) -> None:
    """Move a fully written staging folder to ``target``, replacing an older one."""
    if target.exists():
        retired = target.with_name(f".{target.name}.old")
        shutil.rmtree(retired, ignore_errors=True)
        os.replace(target, retired)
        os.replace(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, target)


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


def _atomic_write_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
