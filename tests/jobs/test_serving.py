"""The registered PD pyfunc behind ``mlflow models serve``: a REST client gets the same
probability of default and score as ``pyfunc.predict`` in process, and a request without a model
feature is refused with an error that names it.

A small XGBoost model is fitted on the synthetic feature matrix of the champion/challenger tests
and registered once per module (with the package as ``code_paths``, as a training run logs it);
the server runs with ``--env-manager local`` from this virtual environment.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.models import infer_signature

from credit_models.models.xgb_pd import model_inputs
from credit_models.paths import PACKAGE_DIR
from credit_models.tracking.pd_pyfunc import (
    OUTPUT_COLUMNS,
    ProbabilityOfDefaultModel,
    feature_contract,
    public_inputs,
    write_model_files,
)
from tests.jobs.test_compare_promote import FEATURES, fit_model, synthetic_feature_matrix

NAME = "pd_serving"
START_TIMEOUT_S = 90
REQUEST_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, log_path: Path,
                  timeout_s: float = START_TIMEOUT_S) -> None:
    """Poll ``url`` until it answers 200; fail the test, with the end of the server's log, when
    the process exits first or ``timeout_s`` passes."""
    try:
        _poll(url, process, timeout_s)
    except (RuntimeError, TimeoutError) as error:
        pytest.fail(f"{error}\n{log_path.read_text()[-3000:]}")


def _poll(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s")


def stop(process: subprocess.Popen) -> None:
    """Terminate the server and everything it started (its own process group)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass


def venv_environment(tracking_uri: str | None = None) -> dict[str, str]:
    """The virtual environment's bin first on PATH (the server runs uvicorn from PATH)."""
    bin_dir = str(Path(sys.executable).parent)
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    environment.pop("MLFLOW_TRACKING_URI", None)
    if tracking_uri is not None:
        environment["MLFLOW_TRACKING_URI"] = tracking_uri
    return environment


def post_json(url: str, body: dict) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def dataframe_split(frame: pd.DataFrame) -> dict:
    """``dataframe_split`` JSON with NaN written as null."""
    def cell(value):
        if isinstance(value, float) and math.isnan(value):
            return None
        return value.item() if isinstance(value, np.generic) else value

    return {"dataframe_split": {
        "columns": list(frame.columns),
        "data": [[cell(value) for value in row] for row in frame.itertuples(index=False)],
    }}


@dataclass(frozen=True)
class Registered:
    tracking_uri: str
    version: str
    rows: pd.DataFrame
    """Public inputs of ~50 out-of-time rows (with a NaN and every city tier)."""


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registered]:
    folder = tmp_path_factory.mktemp("serving")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("serving", artifact_location=(folder / "art").as_uri())
    matrix = synthetic_feature_matrix(customers=300)
    model = fit_model(matrix, FEATURES, max_depth=3)
    inputs = model_inputs(matrix, FEATURES)
    oot = matrix["split"] == "oot"
    with mlflow.start_run(experiment_id=experiment), \
            tempfile.TemporaryDirectory(dir=folder) as scratch:
        files = write_model_files(model, feature_contract(inputs, {}), Path(scratch))
        example = public_inputs(inputs.head(5))
        info = mlflow.pyfunc.log_model(
            name="model", python_model=ProbabilityOfDefaultModel(), artifacts=files,
            code_paths=[str(PACKAGE_DIR)],
            signature=infer_signature(example, pd.DataFrame(
                {name: np.zeros(len(example)) for name in OUTPUT_COLUMNS})),
            input_example=example,
            registered_model_name=NAME,
            pip_requirements=["mlflow"],      # skips inferring requirements (served locally)
        )
    rows = public_inputs(inputs[oot].head(50)).reset_index(drop=True)
    assert rows["days_late"].isna().any()
    assert set(rows["city_tier"]) == {"tier_1", "tier_2", "tier_3"}
    yield Registered(uri, str(info.registered_model_version), rows)
    mlflow.set_tracking_uri(previous)


@pytest.fixture(scope="module")
def server(registered: Registered, tmp_path_factory) -> Iterator[str]:
    """``mlflow models serve`` of the registered version; yields its base URL."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve_log") / "serve.log"
    bin_dir = Path(sys.executable).parent
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(bin_dir / "mlflow"), "models", "serve",
             "-m", f"models:/{NAME}/{registered.version}", "--env-manager", "local",
             "-h", "127.0.0.1", "-p", str(port)],
            env=venv_environment(registered.tracking_uri), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/ping", process, log_path)
        yield base
    finally:
        stop(process)


@pytest.mark.slow
def test_served_model_scores_like_the_pyfunc(registered: Registered, server: str):
    status, body = post_json(f"{server}/invocations", dataframe_split(registered.rows))
    assert status == 200, body[-2000:]
    served = pd.DataFrame(json.loads(body)["predictions"])

    model = mlflow.pyfunc.load_model(f"models:/{NAME}/{registered.version}")
    expected = model.predict(registered.rows)
    assert len(served) == len(registered.rows)
    for column in OUTPUT_COLUMNS:
        np.testing.assert_allclose(served[column].to_numpy(dtype=float),
                                   expected[column].to_numpy(dtype=float), rtol=0, atol=1e-9)
    assert served["probability_of_default"].between(0, 1, inclusive="neither").all()


@pytest.mark.slow
def test_served_model_refuses_a_request_without_a_feature(registered: Registered, server: str):
    status, body = post_json(f"{server}/invocations",
                             dataframe_split(registered.rows.drop(columns="utilisation")))
    assert 400 <= status < 600
    assert "utilisation" in body


@pytest.mark.slow
def test_served_model_answers_implausible_values_with_a_clean_400(registered: Registered,
                                                                  server: str):
    rows = registered.rows.head(4).copy()
    rows.loc[1, "utilisation"] = 1e308
    rows.loc[3, "days_late"] = -1e9
    status, body = post_json(f"{server}/invocations", dataframe_split(rows))
    assert status == 400, body[-2000:]
    answer = json.loads(body)
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "[scoring input.utilisation] must lie in the accepted range [0, " in answer["message"]
    assert "[scoring input.days_late] must lie in the accepted range [0, " in answer["message"]
    assert "stack_trace" not in answer and "Traceback" not in body

    status, body = post_json(f"{server}/invocations", dataframe_split(rows.head(0)))
    assert status == 200, body[-2000:]
    assert json.loads(body)["predictions"] == []
