"""Runs end honestly: a signal ends the open run KILLED, a version is created only for a run
that has ended FINISHED, and telemetry stays off unless asked for."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from omegaconf import OmegaConf

from credit_models.jobs.runner import run_job
from credit_models.tracking.mlflow_tracking import TELEMETRY_OFF_VARIABLE
from credit_models.tracking.registry import RegistryError
from credit_models.tracking.run_lifecycle import register_finished_model
from credit_models.tracking.store import prepare_store

FORK = multiprocessing.get_context("fork")


class Constant(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: pd.DataFrame) -> pd.Series:
        return pd.Series([0.1] * len(model_input))


def store_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def log_constant_model(tmp_path: Path):
    prepare_store(store_uri(tmp_path))
    mlflow.set_tracking_uri(store_uri(tmp_path))
    experiment = MlflowClient().create_experiment(
        "tests", artifact_location=(tmp_path / "artifacts").as_uri())
    run = mlflow.start_run(experiment_id=experiment)
    info = mlflow.pyfunc.log_model(name="model", python_model=Constant(), pip_requirements=[])
    return run, info


def test_a_version_is_created_after_its_run_ended_finished(tmp_path):
    run, info = log_constant_model(tmp_path)
    with pytest.raises(RegistryError, match="is RUNNING, not FINISHED"):
        register_finished_model(info, "pd_test")
    mlflow.end_run()
    version = register_finished_model(info, "pd_test")

    client = MlflowClient()
    registered = client.get_model_version("pd_test", version)
    ended = client.get_run(run.info.run_id).info
    assert (version, registered.run_id, ended.status) == ("1", run.info.run_id, "FINISHED")
    assert registered.creation_timestamp >= ended.end_time


def job_killed_inside_its_run(cfg, started: Path) -> None:
    mlflow.set_tracking_uri(cfg.mlflow.tracking_uri)
    with mlflow.start_run(experiment_id=mlflow.set_experiment("tests").experiment_id):
        mlflow.log_metric("valid/auc", 0.7)
        started.write_text(mlflow.active_run().info.run_id)
        time.sleep(60)


def run_and_exit(cfg, started: Path) -> None:
    code, _ = run_job("credit-models-test",
                      lambda settings, c: job_killed_inside_its_run(c, started), cfg)
    os._exit(code)


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_open_run_killed(tmp_path, signal_number):
    cfg = OmegaConf.create({"mlflow": {"tracking_uri": store_uri(tmp_path)}})
    started = tmp_path / "run_id"
    job = FORK.Process(target=run_and_exit, args=(cfg, started))
    job.start()
    deadline = time.monotonic() + 120
    while not started.exists() or not started.read_text():
        assert job.is_alive() and time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(job.pid, signal_number)
    job.join(timeout=60)

    assert job.exitcode == 128 + signal_number
    run = MlflowClient(tracking_uri=store_uri(tmp_path)).get_run(started.read_text())
    assert run.info.status == "KILLED" and run.info.end_time is not None


def test_telemetry_is_off_unless_opted_in(tmp_path, monkeypatch):
    monkeypatch.setenv(TELEMETRY_OFF_VARIABLE, "false")
    cfg = OmegaConf.create({"mlflow": {"tracking_uri": store_uri(tmp_path), "telemetry": True}})
    assert run_job("credit-models-test", lambda settings, c: None, cfg)[0] == 0
    assert os.environ[TELEMETRY_OFF_VARIABLE] == "false"        # the user's choice stands

    cfg.mlflow.telemetry = False
    assert run_job("credit-models-test", lambda settings, c: None, cfg)[0] == 0
    assert os.environ[TELEMETRY_OFF_VARIABLE] == "true"
    from mlflow.telemetry.client import get_telemetry_client
    assert get_telemetry_client() is None
