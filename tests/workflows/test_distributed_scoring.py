"""``credit-models-score engine=dask``: a customer-partitioned data set's batch built, scored and
explained on a Dask cluster equals the local jobs' (``credit-models-data batch`` then
``credit-models-score``), written as one Parquet part file per partition."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from mlflow import MlflowClient

from credit_models.config.settings import to_settings
from credit_models.errors import OutputFolderError
from credit_models.explain.contributions import xgboost_contributions
from credit_models.features.spec import parse_feature_spec
from credit_models.models.input_contract import typed_inputs
from credit_models.models.pd_model import PdModel
from credit_models.models.xgb_pd import model_inputs
from credit_models.tracking.model_loading import load_pd_model
from credit_models.workflows.distributed.partitions import open_partitioned_dataset
from credit_models.workflows.distributed.scoring import (
    SCORES_WRITER,
    BatchPlan,
    model_parts,
    score_partitioned,
)
from credit_models.workflows.scoring import score_parquet
from credit_models.workflows.scoring_batch import build_scoring_batch
from tests.conftest import compose_once
from tests.registry_store import log_pd_version
from tests.workflows.conftest import assert_one_part_file_per_partition

distributed = pytest.importorskip("distributed")

AS_OF = "2025-01-01"
MODEL_NAME = "pd_partitioned"


@pytest.fixture(scope="module")
def client(dask_scheduler: str) -> Iterator[Any]:
    """A client of the session's local cluster (two worker processes, one thread each)."""
    with distributed.Client(dask_scheduler) as dask_client:
        yield dask_client


@pytest.fixture(scope="module")
def dataset(partitioned_portfolio: Path) -> Path:
    """1,500 simulated customers in three customer partitions (the simulator's chunks)."""
    return partitioned_portfolio


@pytest.fixture(scope="module")
def local(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The local jobs' way: the batch file, a model fitted on it and registered, its scores."""
    folder = tmp_path_factory.mktemp("local")
    settings = to_settings(compose_once("data_batch", [
        "data=parquet", f"data.path={dataset}", f"as_of={AS_OF}", "show_progress=false",
        "engine.feature_cache_dir=null", f"output={folder / 'batch.parquet'}"]))
    batch = build_scoring_batch(settings)
    frame = batch.frame
    inputs = model_inputs(frame, batch.feature_names)
    numbers = inputs.select_dtypes("number").fillna(0.0)
    rng = np.random.default_rng(3)
    signal = (numbers - numbers.mean()) / numbers.std().replace(0.0, 1.0)
    labels = rng.random(len(frame)) < 1 / (1 + np.exp(2.0 - signal.sum(axis=1) / 3))
    estimator = xgb.XGBClassifier(n_estimators=30, max_depth=3, enable_categorical=True,
                                  n_jobs=1, tree_method="hist", random_state=0)
    estimator.fit(inputs, labels.astype(np.int8))
    model = PdModel.from_fitted(estimator, batch.feature_names)

    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("tests")
    with mlflow.start_run():
        log_pd_version(model, frame.assign(is_bad=labels), folder, MODEL_NAME)
    MlflowClient().set_registered_model_alias(MODEL_NAME, "champion", "1")
    loaded = load_pd_model(f"models:/{MODEL_NAME}@champion")
    score_parquet(loaded, folder / "batch.parquet", folder / "scores.parquet")
    return {"settings": settings, "batch": frame, "model": loaded, "tracking_uri": tracking_uri,
            "scores": pd.read_parquet(folder / "scores.parquet")}


def by_row(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["customer_id", "as_of"], ignore_index=True)


@pytest.fixture(scope="module")
def on_cluster(client, dataset, local, tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("dask")
    settings = local["settings"]
    partitions = open_partitioned_dataset(str(dataset))
    plan = BatchPlan(settings.snapshot_dates, parse_feature_spec(asdict(settings.features)),
                     settings.labels, partitions.manifest.extraction_timestamp)
    result = score_partitioned(client, partitions, plan, local["model"], folder / "scores",
                               contributions_output=folder / "contributions")
    return {"result": result, "partitions": partitions, "folder": folder}


def test_the_dask_batch_scores_equal_the_local_jobs(local, on_cluster):
    assert on_cluster["partitions"].n_partitions == 3
    scores = by_row(pd.read_parquet(on_cluster["folder"] / "scores"))
    expected = by_row(local["scores"])
    assert on_cluster["result"].rows == len(expected) == len(scores)
    assert list(scores.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(scores[["customer_id", "as_of"]],
                                  expected[["customer_id", "as_of"]])
    for name in ("probability_of_default", "score"):
        assert np.abs(scores[name].to_numpy() - expected[name].to_numpy()).max() <= 1e-12
    assert set(scores["model_version"]) == {"1"}


def test_the_output_is_one_part_file_per_partition(on_cluster):
    assert assert_one_part_file_per_partition(on_cluster["folder"] / "scores") == SCORES_WRITER
    # nothing left beside it: the staging folder was moved into place
    assert sorted(path.name for path in on_cluster["folder"].iterdir()) == [
        "contributions", "scores"]


def test_contributions_equal_local_pred_contribs(local, on_cluster):
    family, booster, contract = model_parts(local["model"])
    assert family == "xgboost"
    batch = by_row(local["batch"])
    expected = xgboost_contributions(booster, typed_inputs(contract, batch)).with_bias()
    found = by_row(pd.read_parquet(on_cluster["folder"] / "contributions"))
    pd.testing.assert_series_equal(found["customer_id"], batch["customer_id"])
    values = found[list(expected.columns)].to_numpy()
    assert np.abs(values - expected.to_numpy()).max() <= 1e-6
    assert len(list((on_cluster["folder"] / "contributions").glob("part-*.parquet"))) == 3


def test_a_foreign_output_folder_is_refused_untouched(client, dataset, local, tmp_path):
    target = tmp_path / "scores"
    target.mkdir()
    (target / "mine.csv").write_text("keep me")
    settings = local["settings"]
    partitions = open_partitioned_dataset(str(dataset))
    plan = BatchPlan(settings.snapshot_dates, parse_feature_spec(asdict(settings.features)),
                     settings.labels, partitions.manifest.extraction_timestamp)
    with pytest.raises(OutputFolderError, match="did not write"):
        score_partitioned(client, partitions, plan, local["model"], target)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["scores"]
    assert (target / "mine.csv").read_text() == "keep me"


def test_the_score_command_on_the_cluster(client, dataset, local, on_cluster, tmp_path):
    """The console script, given the running scheduler's address."""
    output = tmp_path / "scores"
    command = [str(Path(sys.executable).with_name("credit-models-score")), "engine=dask",
               f"engine.address={client.scheduler.address}", f"input={dataset}",
               f"as_of={AS_OF}", f"output={output}", f"model_uri=models:/{MODEL_NAME}/1",
               f"mlflow.tracking_uri={local['tracking_uri']}", "show_progress=false",
               f"hydra.run.dir={tmp_path / 'hydra'}"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "3 customer partition(s)" in done.stdout
    found = by_row(pd.read_parquet(output))
    assert set(found["model_uri"]) == {f"models:/{MODEL_NAME}/1"}
    pd.testing.assert_frame_equal(
        found.drop(columns="model_uri"),
        by_row(pd.read_parquet(on_cluster["folder"] / "scores")).drop(columns="model_uri"))
