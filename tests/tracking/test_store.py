"""The MLflow store: created whole or not at all, concurrent first starts, a broken store refused
before any work, a remote server that does not answer."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sqlite3
import time
import traceback
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from credit_models.tracking import store
from credit_models.tracking.store import TrackingStoreError, prepare_store

FORK = multiprocessing.get_context("fork")


def uri_of(path: Path) -> str:
    return f"sqlite:///{path}"


def start_and_log_one_run(uri: str, barrier, errors) -> None:
    """A job's start on the shared store: prepare it, then log one finished run."""
    try:
        barrier.wait(timeout=60)
        prepare_store(uri)
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment("tests")
        with mlflow.start_run():
            mlflow.log_metric("valid/auc", 0.7)
    except BaseException:  # noqa: BLE001 (reported to the test, then the child exits 1)
        errors.put(traceback.format_exc())
        os._exit(1)
    os._exit(0)


def test_two_jobs_starting_on_a_new_store_both_finish(tmp_path):
    prepare_store(uri_of(tmp_path / "warm.db"))     # imports done once, before the forks
    finished = 0
    for repetition in range(5):
        database = tmp_path / f"store_{repetition}" / "mlflow.db"
        barrier, errors = FORK.Barrier(2), FORK.Queue()
        jobs = [FORK.Process(target=start_and_log_one_run, args=(uri_of(database), barrier, errors))
                for _ in range(2)]
        for job in jobs:
            job.start()
        for job in jobs:
            job.join(timeout=120)
        assert [job.exitcode for job in jobs] == [0, 0], errors.get(timeout=5)
        client = MlflowClient(tracking_uri=uri_of(database))
        runs = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
        assert [run.info.status for run in runs] == ["FINISHED", "FINISHED"]
        finished += len(runs)
    assert finished == 10


def test_a_kill_while_the_store_is_created_leaves_no_store(tmp_path, monkeypatch):
    database = tmp_path / "mlflow.db"

    def killed_before_linking(source, target):
        os.kill(os.getpid(), signal.SIGKILL)

    def create() -> None:
        monkeypatch.setattr(store.os, "link", killed_before_linking)
        prepare_store(uri_of(database))

    job = FORK.Process(target=create)
    job.start()
    job.join(timeout=120)
    assert job.exitcode == -signal.SIGKILL
    assert not database.exists()            # only the scratch file beside it is left

    prepare_store(uri_of(database))
    assert MlflowClient(tracking_uri=uri_of(database)).get_experiment("0").name == "Default"


@pytest.fixture
def healthy_store(tmp_path) -> Path:
    database = tmp_path / "mlflow.db"
    prepare_store(uri_of(database))
    return database


def test_an_interrupted_migration_is_refused_with_how_to_recover(healthy_store):
    with sqlite3.connect(healthy_store) as connection:
        connection.execute("CREATE TABLE _alembic_tmp_runs (run_uuid VARCHAR(32))")
    with pytest.raises(TrackingStoreError) as raised:
        prepare_store(uri_of(healthy_store))
    message = str(raised.value)
    assert str(healthy_store) in message and "_alembic_tmp_runs" in message
    assert f"mv {healthy_store} {healthy_store}.broken" in message


def test_a_half_built_store_is_refused(tmp_path):
    database = tmp_path / "mlflow.db"
    with sqlite3.connect(database) as connection:     # tables, but no schema version stamp
        connection.execute("CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY)")
    with pytest.raises(TrackingStoreError, match="never completed"):
        prepare_store(uri_of(database))


def test_missing_tables_at_the_current_version_are_refused(healthy_store):
    with sqlite3.connect(healthy_store) as connection:
        connection.execute("DROP TABLE registered_model_aliases")
    with pytest.raises(TrackingStoreError, match="tables are missing: registered_model_aliases"):
        prepare_store(uri_of(healthy_store))


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    database = tmp_path / "mlflow.db"
    database.write_bytes(b"not a database at all" * 100)
    with pytest.raises(TrackingStoreError, match="SQLite cannot read it"):
        prepare_store(uri_of(database))


def test_an_empty_file_becomes_a_store(tmp_path):
    database = tmp_path / "mlflow.db"
    database.touch()
    prepare_store(uri_of(database))
    assert MlflowClient(tracking_uri=uri_of(database)).get_experiment("0").name == "Default"


def test_a_server_that_does_not_answer_is_named(tmp_path):
    with socket.socket() as probe:              # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.perf_counter()
    with pytest.raises(TrackingStoreError, match=f"http://127.0.0.1:{port} does not answer"):
        prepare_store(f"http://127.0.0.1:{port}")
    assert time.perf_counter() - started < store.SERVER_TIMEOUT_S
