"""Registries for tests: a tiny one for aliases and promotions (versions registered against runs,
no model files: resolving, moving aliases and tagging versions never load a model), and
:func:`log_pd_version` for tests that load, score or compare the registered model."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Collection
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo

from credit_models.models.pd_model import PdModel
from credit_models.models.xgb_pd import model_inputs
from credit_models.tracking.pd_pyfunc import (
    OUTPUT_COLUMNS,
    ProbabilityOfDefaultModel,
    feature_contract,
    public_inputs,
    write_model_files,
)
from credit_models.tracking.store import prepare_store

NAME = "pd_xgb"
MODEL_REGISTRY_WRITES = ("set_registered_model_alias", "delete_registered_model_alias",
                         "set_model_version_tag", "delete_model_version_tag",
                         "set_registered_model_tag", "delete_registered_model_tag")
"""The MlflowClient methods that change a registered model."""
PROMOTION_WRITES = (*MODEL_REGISTRY_WRITES, "set_tag", "set_terminated")
"""… and those a promotion also writes its run with."""


def build_tiny_registry(folder: Path, *, unfinished: Collection[int] = ()) -> Path:
    """``pd_xgb`` versions 1, 2, 3, each from its own run (FINISHED, except those in
    ``unfinished``: left RUNNING, as after a kill right after registering); run 1 logged a
    feature matrix; alias challenger → 3. Returns the SQLite file (copy it per test: creating an
    MLflow database takes seconds)."""
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    prepare_store(uri)                  # a copy of the session's schema template: no migrations
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("tests", artifact_location=(folder / "art").as_uri())
    client.create_registered_model(NAME)
    for number in (1, 2, 3):
        run = client.create_run(experiment)
        if number == 1:
            matrix = folder / "feature_matrix.parquet"
            pd.DataFrame({"customer_id": [1, 2], "x": [0.5, 1.5], "is_bad": [0, 1],
                          "split": ["dev", "oot"]}).to_parquet(matrix)
            client.log_artifact(run.info.run_id, str(matrix), "features")
        if number not in unfinished:
            client.set_terminated(run.info.run_id)
        client.create_model_version(NAME, f"runs:/{run.info.run_id}/model", run.info.run_id)
    client.set_registered_model_alias(NAME, "challenger", "3")
    return folder / "mlflow.db"


def log_pd_version(model: PdModel, matrix: pd.DataFrame, folder: Path, name: str) -> ModelInfo:
    """Log into the active run what credit-models-train logs and the registry jobs read: the
    feature matrix (``features/feature_matrix.parquet``) and ``model`` as the PD pyfunc,
    registered as a new version of ``name``. ``folder`` holds the files on their way."""
    inputs = model_inputs(matrix, list(model.feature_names_in_))
    matrix_path = folder / "feature_matrix.parquet"
    matrix.to_parquet(matrix_path, index=False)
    mlflow.log_artifact(str(matrix_path), "features")
    files = write_model_files(model, feature_contract(inputs, {}), folder)
    example = public_inputs(inputs.head(5))
    return mlflow.pyfunc.log_model(
        name="model", python_model=ProbabilityOfDefaultModel(), artifacts=files,
        signature=infer_signature(example, pd.DataFrame(
            {column: np.zeros(len(example)) for column in OUTPUT_COLUMNS})),
        registered_model_name=name,
        pip_requirements=["mlflow"],          # skips inferring requirements (12 s a model)
    )


UNPOOLED = ("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", "NullPool")
"""Set it (monkeypatch.setenv) before the first client of a store that a forked process will use:
each session then opens its own SQLite connection instead of sharing the parent's."""


def copy_registry(template: Path, folder: Path) -> MlflowClient:
    """A client of a copy of ``template`` in ``folder``."""
    store = folder / "mlflow.db"
    shutil.copyfile(template, store)
    uri = f"sqlite:///{store}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def in_child_process(body: Callable[[], int | None]) -> int:
    """Run ``body`` in a forked process and return its exit code (99 for an exception). The child
    starts at once, with everything the parent imported; it leaves by ``os._exit``, so neither
    pytest's nor MLflow's exit handlers run twice."""
    pid = os.fork()
    if pid == 0:                       # pragma: no cover -- measured in the parent
        code = 99
        try:
            code = int(body() or 0)
        except BaseException:          # noqa: BLE001 -- shown, then reported by the exit code
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    return wait_for(pid)


def wait_for(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def intercept_writes(methods: Collection[str], calls: list[str], stop_at: int | None,
                     stop: Callable[[], None]) -> None:
    """Wrap MlflowClient's ``methods`` for the rest of this process (a forked child): each call is
    recorded in ``calls``; the ``stop_at``-th runs ``stop`` first (exit, or wait for a signal)."""
    for method in methods:
        original = getattr(MlflowClient, method)

        def counted(self, *args, _original=original, _method=method, **kwargs):
            calls.append(_method)
            if len(calls) == stop_at:
                stop()
            return _original(self, *args, **kwargs)

        setattr(MlflowClient, method, counted)
