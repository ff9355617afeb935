"""Team mode: the jobs against a shared tracking server, and two trainings at the same time.

- ``mlflow server --app-name basic-auth`` (SQLite backend, local artifact destination, on
  loopback) stands in for the team's server: nothing is read without credentials; a team member
  (``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD``) trains and registers over HTTP,
  registers a second version of the trained model, promotes the first with ``force=true``,
  compares the second with it and the gate decides; a member with read access only cannot move
  an alias.
- Two ``credit-models-train`` processes started together on one SQLite store both finish and
  register two distinct versions of the same model.

The jobs read the session's small simulated portfolio (tests/conftest.py); the registry, not the
model, is under test, so they train with fewer trees and coarser pre-binning.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from credit_models.config.settings import to_settings
from credit_models.jobs.promote import run_promotion
from credit_models.jobs.train import run_training
from credit_models.tracking.registry import aliases
from tests.jobs.conftest import small_train_overrides
from tests.jobs.test_serving import free_port, stop, venv_environment, wait_until_up

NAME = "pd_xgb"
ADMIN_PASSWORD = "admin-password-for-tests"      # basic-auth wants at least 12 characters
ANALYST = ("analyst", "analyst-password-1")
REVIEWER = ("reviewer", "reviewer-password-1")
TRAIN_TIMEOUT_S = 300
BIN_DIR = Path(sys.executable).parent


def train_overrides(tmp_path: Path, portfolio: Path, tracking_uri: str, *extra: str) -> list[str]:
    """The small-portfolio overrides of the training tests, against ``tracking_uri``, with fewer
    trees and pre-bins (the registry, not the model, is under test here)."""
    replaced = ("mlflow.tracking_uri=", "model.params.n_estimators=")
    base = [item for item in small_train_overrides(tmp_path, portfolio)
            if not item.startswith(replaced)]
    return [*base, f"mlflow.tracking_uri={tracking_uri}", "model.params.n_estimators=60",
            "selection.max_n_prebins=5", *extra]


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` with basic authentication on loopback, SQLite backend; yields its URL
    once the team members :data:`ANALYST` and :data:`REVIEWER` exist."""
    folder = tmp_path_factory.mktemp("team_server")
    port = free_port()
    log_path = folder / "server.log"
    # Checked credentials cached for a minute: without it every request of a run re-hashes the
    # password (PBKDF2), which dominates a training's logging time.
    auth_config = folder / "basic_auth.ini"
    auth_config.write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{folder / 'basic_auth.db'}\nadmin_username = admin\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "auth_cache_ttl_seconds = 60\n")
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(BIN_DIR / "mlflow"), "server",
             "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
             "--artifacts-destination", str(folder / "artifacts"),
             "-h", "127.0.0.1", "-p", str(port), "--workers", "1", "--app-name", "basic-auth"],
            # No background job runner: it starts a dozen worker processes this test never uses.
            env={**venv_environment(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
                 "MLFLOW_FLASK_SERVER_SECRET_KEY": "secret-key-for-tests",
                 "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
                 "MLFLOW_AUTH_CONFIG_PATH": str(auth_config)},
            stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=folder,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/health", process, log_path)
        _add_team_members(url)
        yield url
    finally:
        stop(process)


def _add_team_members(url: str) -> None:
    """The admin creates the users (as ``mlflow.server.get_app_client`` documents)."""
    import os
    from unittest import mock

    from mlflow.server import get_app_client

    admin = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": ADMIN_PASSWORD}
    with mock.patch.dict(os.environ, admin):
        users = get_app_client("basic-auth", tracking_uri=url)
        for username, password in (ANALYST, REVIEWER):
            users.create_user(username=username, password=password)


def _as_user(monkeypatch: pytest.MonkeyPatch, user: tuple[str, str]) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", user[1])


@pytest.mark.slow
def test_train_register_compare_and_promote_through_a_tracking_server(
    compose_config, tmp_path, monkeypatch, small_portfolio, small_feature_cache, tracking_server
):
    import requests
    from mlflow.exceptions import MlflowException

    monkeypatch.chdir(tmp_path)
    anonymous = requests.post(f"{tracking_server}/api/2.0/mlflow/experiments/search",
                              json={"max_results": 1}, timeout=30)
    assert anonymous.status_code == 401                   # nothing without credentials
    _as_user(monkeypatch, ANALYST)
    config = compose_config("train", train_overrides(
        tmp_path, small_portfolio, tracking_server,
        f"engine.feature_cache_dir={small_feature_cache}"))
    result = run_training(to_settings(config), config)
    assert result.tracking_uri == tracking_server
    assert result.registered_version == "1"
    # A second version of the trained model, registered by the same member over HTTP: the
    # promotion below needs two versions, and a second training would only repeat the first.
    client = MlflowClient(tracking_uri=tracking_server, registry_uri=tracking_server)
    mlflow.set_tracking_uri(tracking_server)
    again = mlflow.register_model(f"runs:/{result.run_id}/model", NAME)
    assert str(again.version) == "2"

    run = client.get_run(client.get_model_version(NAME, "2").run_id)
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")   # proxied by the server
    assert "reports/validation_report.html" in {
        item.path for item in client.list_artifacts(run.info.run_id, "reports")}

    def promotion(*overrides: str):
        return run_promotion(to_settings(compose_config("promote", [
            f"model_name={NAME}", f"mlflow.tracking_uri={tracking_server}", *overrides])))

    first = promotion("challenger=1", "force=true")
    assert (first.decision, first.exit_code) == ("promoted", 0)
    assert aliases(client, NAME) == {"champion": "1"}

    second = promotion("challenger=2")
    assert second.decision in ("promoted", "rejected")
    assert second.comparison is not None and second.rules
    expected = ({"champion": "2", "previous_champion": "1"} if second.decision == "promoted"
                else {"champion": "1"})
    assert aliases(client, NAME) == expected
    recorded = client.get_run(second.run_id)
    assert recorded.data.tags["run_kind"] == "promotion"
    assert recorded.data.tags["decision"] == second.decision
    assert recorded.data.tags["challenger_version"] == "2"
    assert recorded.data.tags["gate_passed"] == str(second.decision == "promoted").lower()
    if second.decision == "promoted":
        assert client.get_model_version(NAME, "2").tags["promotion_run_id"] == second.run_id

    _as_user(monkeypatch, REVIEWER)                       # may read, not move the champion
    reviewer = MlflowClient(tracking_uri=tracking_server, registry_uri=tracking_server)
    assert reviewer.get_model_version_by_alias(NAME, "champion").version in ("1", "2")
    with pytest.raises(MlflowException, match="403"):
        reviewer.set_registered_model_alias(NAME, "champion", "1")


@pytest.mark.slow
def test_two_trainings_at_the_same_time_register_two_versions(tmp_path, small_portfolio):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # The shared store exists before the jobs run (as a team's does): two processes that both
    # find no database race to create its tables ("table … already exists").
    MlflowClient(tracking_uri=store).create_experiment(
        "tests", artifact_location=(tmp_path / "artifacts").as_uri())
    started = time.perf_counter()
    processes = []
    for job in ("a", "b"):
        log = open(tmp_path / f"train_{job}.log", "w")    # noqa: SIM115 (closed below)
        process = subprocess.Popen(
            [str(BIN_DIR / "credit-models-train"),
             *train_overrides(tmp_path, small_portfolio, store,
                              f"hydra.run.dir={tmp_path / 'hydra' / job}",
                              f"engine.feature_cache_dir={tmp_path / 'cache' / job}")],
            cwd=tmp_path, env=venv_environment(store), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append((job, process, log))
    try:
        for job, process, log in processes:
            process.wait(timeout=TRAIN_TIMEOUT_S)
            log.close()
            output = (tmp_path / f"train_{job}.log").read_text()
            assert process.returncode == 0, f"job {job}:\n{output[-4000:]}"
    finally:
        for _, process, log in processes:
            stop(process)
            log.close()
    elapsed = time.perf_counter() - started

    client = MlflowClient(tracking_uri=store, registry_uri=store)
    registered = client.search_model_versions(f"name = '{NAME}'")
    assert sorted(str(version.version) for version in registered) == ["1", "2"]
    run_ids = {version.run_id for version in registered}
    assert len(run_ids) == 2
    assert all(client.get_run(run_id).info.status == "FINISHED" for run_id in run_ids)
    assert elapsed < TRAIN_TIMEOUT_S
