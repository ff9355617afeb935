"""Writing output folders safely: the toolkit replaces only folders it made itself.

A folder the toolkit writes (a data set, a cache entry) is built in a staging folder beside its
target and moved into place whole. An existing target is replaced only when nothing in it is
someone else's: the writer says which of its entries it owns (a data set by the marker file
written with it, :data:`MARKER_NAME`); any other entry makes the write fail with
:class:`OutputFolderError` before anything is moved or deleted.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from credit_models import __version__
from credit_models.errors import OutputFolderError

MARKER_NAME = "written_by_credit_models.json"
"""Written last into every data set folder the toolkit makes: which writer made it, from what, and
which entries it wrote (so that only those are ever replaced)."""

PARTS_MARKER_NAME = "_written_by_credit_models.json"
"""The marker of a folder read as one Parquet data set (part files of batch scores): named with a
leading ``_`` so that Parquet readers of the folder (pandas, Arrow, Spark) skip it."""

MAX_NAMED_ENTRIES = 5

ForeignEntries = Callable[[Path], list[str]]
"""Given an existing target folder, the names of its entries its writer did not put there."""


@dataclass(frozen=True)
class WriterMarker:
    """The toolkit's claim on a folder it wrote."""

    writer: str
    """The function that wrote the folder (``simulator``, ``write_tables``)."""
    source: str
    """Where the data came from (the manifest's ``source``)."""
    entries: list[str]
    """Every file written, as a path relative to the folder (the marker itself aside)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """What determined the content (the simulator's config, an adapter's source details)."""
    package_version: str = __version__


def write_marker(folder: Path, writer: str, source: str, settings: dict[str, Any],
                 name: str = MARKER_NAME) -> WriterMarker:
    """Claim ``folder`` (fully written) for the toolkit, listing every file now in it; ``name``
    is the marker's file name (:data:`PARTS_MARKER_NAME` in a folder of Parquet parts)."""
    marker = WriterMarker(
        writer=writer, source=source, settings=settings,
        entries=[entry for entry in files_under(folder) if entry != name],
    )
    atomic_write_text(folder / name, json.dumps(asdict(marker), indent=2, default=str))
    return marker


def read_marker(folder: Path, name: str = MARKER_NAME) -> WriterMarker | None:
    """The folder's marker, or None when it has none or one the toolkit cannot have written (a
    folder with an unreadable marker is treated as someone else's)."""
    path = folder / name
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_text())
        marker = WriterMarker(**payload)
    except (ValueError, TypeError):
        return None
    if not isinstance(marker.entries, list):
        return None
    return marker


def unmarked_entries(folder: Path, legacy: Callable[[Path], bool] | None = None,
                     name: str = MARKER_NAME) -> list[str]:
    """Files under ``folder`` that its marker does not list (a file added to a table's part
    folder counts too): all of its entries when it has no marker, none when ``legacy``
    recognises it as written by a version before the marker."""
    marker = read_marker(folder, name)
    if marker is not None:
        owned = {*marker.entries, name}
        return [entry for entry in files_under(folder) if entry not in owned]
    if legacy is not None and legacy(folder):
        return []
    return sorted(entry.name for entry in folder.iterdir())


def entries_not_written_by(writer: str, name: str = MARKER_NAME) -> ForeignEntries:
    """The ownership rule of a folder only ``writer`` may replace: the entries its marker does
    not list, or all of them in a folder another writer owns (a data set is never replaced by a
    description or a batch of scores)."""
    def foreign(target: Path) -> list[str]:
        marker = read_marker(target, name)
        if marker is not None and marker.writer != writer:
            return sorted(entry.name for entry in target.iterdir())
        return unmarked_entries(target, name=name)
    return foreign


def files_under(folder: Path) -> list[str]:
    """Every file (or link) below ``folder``, as sorted relative POSIX paths."""
    return sorted(
        path.relative_to(folder).as_posix() for path in folder.rglob("*")
        if path.is_symlink() or not path.is_dir()
    )


def entries_not_in(staging: Path) -> ForeignEntries:
    """The default ownership rule: an entry is the writer's when the new folder writes it again."""
    return lambda target: sorted(
        entry.name for entry in target.iterdir() if not (staging / entry.name).exists()
    )


def ensure_replaceable(target: Path, foreign: ForeignEntries, fix: str) -> None:
    """Raise :class:`OutputFolderError` unless ``target`` is absent, an empty folder, or holds
    only entries its writer owns (``foreign`` finds none); ``fix`` tells the user what to do."""
    if not target.exists() and not target.is_symlink():
        return
    if not target.is_dir():
        raise OutputFolderError(
            f"{target} is a file, not a folder: the toolkit writes a folder there and will not "
            f"replace a file it did not write. Nothing was changed. {fix}"
        )
    found = foreign(target)
    if found:
        raise OutputFolderError(
            f"{target} holds {len(found)} entr{'y' if len(found) == 1 else 'ies'} the toolkit "
            f"did not write there ({describe_names(found)}): it writes only into a folder that "
            f"is absent, empty, or a data set it made itself (marked by {MARKER_NAME}), and "
            f"never deletes or overwrites anything else. Nothing was changed. {fix}"
        )


def replace_folder(
    staging: Path, target: Path, foreign: ForeignEntries | None = None,
    fix: str = "Choose a new or empty folder.",
) -> None:
    """Move a fully written staging folder to ``target``, replacing an older one of the same
    writer (see :func:`ensure_replaceable`; by default the target's entries must all be written
    again by ``staging``). The old folder is moved into a fresh temporary folder and deleted from
    there, so nothing but the old target is ever removed."""
    ensure_replaceable(target, foreign or entries_not_in(staging), fix)
    if not target.exists():
        os.replace(staging, target)
        return
    retired_root = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    retired = retired_root / target.name
    os.replace(target, retired)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(retired, target)
        shutil.rmtree(retired_root, ignore_errors=True)
        raise
    shutil.rmtree(retired_root, ignore_errors=True)


def staging_folder(target: Path) -> Path:
    """A fresh, empty folder beside ``target``: on the same file system, so the final move is a
    rename, and hidden, so a reader listing the parent does not take it for a data set."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))


def describe_names(names: Iterable[str], limit: int = MAX_NAMED_ENTRIES) -> str:
    """A few names, then how many more."""
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def atomic_write_text(path: Path, text: str) -> None:
    """Write through a temporary file and a rename: a reader sees the old text or the new."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
