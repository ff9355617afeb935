"""The MLflow store a job writes to, made ready (and checked) before any data are read.

MLflow builds a SQLite store in place, table by table and migration by migration: two jobs that
start together on a new store race each other, and a kill in the middle leaves ``_alembic_tmp_*``
tables or a schema without its version stamp, and every later run fails after full training. Here
the schema is built in a temporary file beside the target and linked into place in one step, under
a lock file beside the database, so the store either does not exist or is complete; an existing
store is checked (and an out-of-date one migrated on a copy, then swapped in) under the same lock.
A remote (http) store is only asked whether it answers.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from credit_models.errors import TrackingStoreError
from credit_models.tracking.mlflow_tracking import SQLITE_PREFIX

logger = logging.getLogger(__name__)

LOCK_TIMEOUT_S = 600.0
"""How long a job waits for another one that is creating or migrating the same store."""
SERVER_TIMEOUT_S = 10.0
UNFINISHED_MIGRATION_PREFIX = "_alembic_tmp_"
VERSION_TABLE = "alembic_version"
CACHE_DIR_VARIABLE = "CREDIT_MODELS_CACHE_DIR"


@dataclass(frozen=True)
class StoreHealth:
    """What a SQLite file holds, as far as MLflow's schema goes."""

    tables: frozenset[str]
    schema_version: str | None

    @property
    def empty(self) -> bool:
        return not (self.tables - {VERSION_TABLE})

    def problems(self, expected_tables: frozenset[str], head_version: str) -> list[str]:
        """Why MLflow could not trust this store (empty list: usable or only out of date)."""
        found: list[str] = []
        unfinished = sorted(t for t in self.tables if t.startswith(UNFINISHED_MIGRATION_PREFIX))
        if unfinished:
            found.append(f"a schema migration was interrupted (left {', '.join(unfinished)})")
        if self.schema_version is None:
            found.append("its schema was never completed (no alembic_version stamp)")
        missing = sorted(expected_tables - self.tables)
        if missing and self.schema_version == head_version:
            found.append(f"tables are missing: {', '.join(missing[:8])}")
        return found


def prepare_store(tracking_uri: str) -> None:
    """Make the store behind ``tracking_uri`` ready for a run, or raise
    :class:`TrackingStoreError` saying why it cannot be used and how to recover."""
    if tracking_uri.startswith(SQLITE_PREFIX):
        path = Path(tracking_uri.removeprefix(SQLITE_PREFIX))
        if str(path) in ("", ":memory:"):
            return
        prepare_sqlite_store(path)
    elif tracking_uri.startswith(("http://", "https://")):
        check_server(tracking_uri)


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextmanager
def store_lock(database: Path) -> Iterator[None]:
    """The lock file beside the database, held while the schema is created or migrated."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_path(database)), timeout=LOCK_TIMEOUT_S)
    try:
        with lock:
            yield
    except Timeout as error:
        raise TrackingStoreError(
            f"the MLflow store {database} stayed locked for {LOCK_TIMEOUT_S:.0f}s by another job "
            f"creating or migrating it ({lock_path(database)}); wait for that job, or, if none "
            "is running, delete the lock file and start again"
        ) from error


def prepare_sqlite_store(database: Path) -> None:
    """Create the store if it does not exist, migrate it if it is out of date, refuse it if it
    is broken: all under the lock, so concurrent first starts both succeed."""
    database = database.resolve()
    database.parent.mkdir(parents=True, exist_ok=True)
    with store_lock(database):
        health = read_health(database) if database.exists() else None
        if health is None or health.empty:
            _create_schema(database, replace=health is not None)
            return
        head = head_schema_version()
        problems = health.problems(expected_tables(), head)
        if problems:
            raise TrackingStoreError(broken_store_message(database, problems))
        if health.schema_version != head:
            _migrate(database, health.schema_version, head)


def broken_store_message(database: Path, problems: list[str]) -> str:
    return (
        f"the MLflow store {database} is broken: {'; '.join(problems)}. A job that created or "
        "migrated it was interrupted, so the runs in it cannot be trusted. Move it aside (e.g. "
        f"mv {database} {database}.broken) and start the job again: a new store is created; "
        "nothing was read or trained"
    )


def read_health(database: Path) -> StoreHealth:
    """Tables and schema stamp of an existing SQLite file, read only; a file SQLite cannot read
    is reported as broken."""
    try:
        connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            check = connection.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise TrackingStoreError(broken_store_message(
                    database, [f"SQLite finds it damaged ({check[0] if check else 'no answer'})"]))
            tables = frozenset(row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"))
            version = None
            if VERSION_TABLE in tables:
                row = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
                version = row[0] if row else None
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise TrackingStoreError(broken_store_message(
            database, [f"SQLite cannot read it ({error})"])) from error
    return StoreHealth(tables, version)


def head_schema_version() -> str:
    """The schema version this MLflow writes."""
    from mlflow.store.db.utils import _get_latest_schema_revision

    return _get_latest_schema_revision()


def expected_tables() -> frozenset[str]:
    """The tables of MLflow's tracking and registry schema."""
    import mlflow.store.model_registry.dbmodels.models  # registers the tables
    import mlflow.store.tracking.dbmodels.models  # noqa: F401
    from mlflow.store.db.base_sql_model import Base

    return frozenset(Base.metadata.tables)


def _scratch_copy(database: Path, purpose: str) -> Path:
    return database.with_name(f".{database.name}.{purpose}-{uuid.uuid4().hex[:8]}")


def _create_schema(database: Path, *, replace: bool) -> None:
    """Copy the schema template into a scratch file, add MLflow's default experiment, then link
    it into place: a kill leaves only the scratch file, never a half-built store."""
    from mlflow.store.tracking import DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    scratch = _scratch_copy(database, "creating")
    uri = SQLITE_PREFIX + str(scratch)
    logger.info("creating the MLflow store %s", database)
    try:
        _sqlite_copy(schema_template(), scratch)
        store = SqlAlchemyStore(uri, DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH)  # checks the schema
        store.engine.dispose()              # every connection closed: the file is complete
        SqlAlchemyStore._engine_map.pop(uri, None)
        if replace:
            os.replace(scratch, database)       # an empty file (no tables) is replaced
        else:
            os.link(scratch, database)          # never over a store someone else just made
    finally:
        scratch.unlink(missing_ok=True)


def template_dir() -> Path:
    """Where schema templates are kept (``CREDIT_MODELS_CACHE_DIR``, else the user's cache)."""
    configured = os.environ.get(CACHE_DIR_VARIABLE)
    base = Path(configured) if configured else (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "credit_models")
    return base / "mlflow_schema"


def schema_template() -> Path:
    """An empty store at this MLflow's schema version (tables and stamp, no experiment), built
    once per MLflow version: running MLflow's ~100 migrations takes seconds, copying a file does
    not. Built in a scratch file and renamed into place under its own lock, like a store."""
    from mlflow.store.db.utils import _initialize_tables, create_sqlalchemy_engine

    head = head_schema_version()
    template = template_dir() / f"mlflow-schema-{head}.db"
    template.parent.mkdir(parents=True, exist_ok=True)
    with store_lock(template):
        if template.exists():
            try:
                health = read_health(template)
            except TrackingStoreError:
                health = None
            if health is not None and not health.problems(expected_tables(), head) \
                    and health.schema_version == head:
                return template
        scratch = _scratch_copy(template, "building")
        try:
            engine = create_sqlalchemy_engine(SQLITE_PREFIX + str(scratch))
            try:
                _initialize_tables(engine)
            finally:
                engine.dispose()
            os.replace(scratch, template)
        finally:
            scratch.unlink(missing_ok=True)
    return template


def _migrate(database: Path, found: str | None, head: str) -> None:
    """Upgrade a copy to this MLflow's schema and swap it in; the old file stays beside it."""
    from mlflow.store.db.utils import _upgrade_db, create_sqlalchemy_engine

    scratch = _scratch_copy(database, "migrating")
    backup = database.with_name(f"{database.name}.schema-{found}.bak")
    logger.warning("migrating the MLflow store %s from schema %s to %s (the old file is kept as "
                   "%s)", database, found, head, backup)
    try:
        _sqlite_copy(database, scratch)
        engine = create_sqlalchemy_engine(SQLITE_PREFIX + str(scratch))
        try:
            _upgrade_db(engine)
        finally:
            engine.dispose()
        shutil.copy2(database, backup)
        os.replace(scratch, database)
    finally:
        scratch.unlink(missing_ok=True)


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy, even of a store other processes are reading."""
    with sqlite3.connect(source) as origin, sqlite3.connect(target) as copy:
        origin.backup(copy)
    origin.close()
    copy.close()


def check_server(tracking_uri: str) -> None:
    """A remote tracking server must answer before any work starts."""
    import requests

    url = tracking_uri.rstrip("/") + "/health"
    try:
        response = requests.get(url, timeout=SERVER_TIMEOUT_S)
    except requests.RequestException as error:
        raise TrackingStoreError(
            f"the MLflow tracking server {tracking_uri} does not answer ({type(error).__name__}: "
            f"{error}); start it, or point mlflow.tracking_uri at a running server (or a local "
            "sqlite:///mlflow.db); nothing was read or trained"
        ) from error
    if response.status_code >= 500:
        raise TrackingStoreError(
            f"the MLflow tracking server {tracking_uri} answered {url} with HTTP "
            f"{response.status_code}; check that it is an MLflow server and that it is healthy"
        )
