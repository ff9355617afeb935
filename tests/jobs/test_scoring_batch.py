"""`credit-models-data batch`: a scoring batch is the train job's feature matrix at its snapshot
(same customers, same features, same labels), sees nothing at or after its as_of, is scored by
`credit-models-score` as it is, and never overwrites a file the toolkit did not write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xgboost as xgb

from credit_models.config.settings import to_settings
from credit_models.data.contract import TABLES
from credit_models.data.io import DatasetManifest, read_tables, write_tables
from credit_models.errors import ConfigError, OutputFolderError
from credit_models.jobs.data import run_batch_job
from credit_models.models.pd_model import PdModel
from credit_models.models.xgb_pd import model_inputs
from credit_models.tracking.model_loading import load_pd_model
from credit_models.workflows.scoring import score_parquet
from credit_models.workflows.scoring_batch import WRITER_KEY, ScoringBatch
from credit_models.workflows.training_data import TrainingData, assemble_training_data
from tests.conftest import SMALL_PORTFOLIO, compose_once
from tests.registry_store import log_pd_version

AS_OF = "2024-10-01"
"""A month start whose 6-month performance window ends before the small portfolio's extraction
date (2025-07-01), so every snapshot the train job keeps is labelled."""


def batch_overrides(data_path: Path, output: Path, *extra: str) -> list[str]:
    return [*SMALL_PORTFOLIO, f"data.path={data_path}", f"output={output}", f"as_of={AS_OF}",
            "engine.feature_cache_dir=null", "show_progress=false", *extra]


def make_batch(data_path: Path, output: Path, *extra: str) -> ScoringBatch:
    return run_batch_job(to_settings(compose_once("data_batch",
                                                  batch_overrides(data_path, output, *extra))))


@pytest.fixture(scope="module")
def labelled_batch(tmp_path_factory, small_portfolio) -> ScoringBatch:
    folder = tmp_path_factory.mktemp("batch")
    return make_batch(small_portfolio, folder / "batches" / "2024-10.parquet", "with_labels=true")


@pytest.fixture(scope="module")
def training(small_portfolio) -> TrainingData:
    """The train job's modelling table at the batch's one snapshot."""
    config = compose_once("train", [
        *SMALL_PORTFOLIO, f"data.path={small_portfolio}", "engine.feature_cache_dir=null",
        f"features.snapshots.first_as_of={AS_OF}", f"features.snapshots.last_as_of={AS_OF}",
        "split=stratified",        # one snapshot month: no out-of-time split to make
    ])
    return assemble_training_data(to_settings(config))


def by_customer(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("customer_id", kind="stable").reset_index(drop=True)


def test_the_batch_is_the_train_jobs_matrix_at_its_snapshot(labelled_batch, training):
    written = pq.read_table(labelled_batch.path).to_pandas()
    assert list(written.columns) == ["customer_id", "as_of", *labelled_batch.feature_names,
                                     "is_bad", "label_status"]
    assert (written["as_of"] == pd.Timestamp(AS_OF, tz="UTC")).all()
    assert written["is_bad"].notna().all()        # every window complete, as in training
    expected = by_customer(training.features.frame.assign(is_bad=training.labelled["is_bad"]))
    actual = by_customer(written[expected.columns])
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, check_categorical=False)
    assert labelled_batch.feature_names == training.features.feature_names


def test_no_feature_sees_an_event_at_or_after_as_of(labelled_batch, small_portfolio, tmp_path):
    """The same batch from the data cut at as_of (every event then and later removed, extraction
    date = as_of) is identical: nothing after the snapshot entered a feature or the rows."""
    cut = pd.Timestamp(AS_OF, tz="UTC")
    tables = {
        name: frame if TABLES[name].time_column is None
        else frame[frame[TABLES[name].time_column] < cut].reset_index(drop=True)
        for name, frame in read_tables(small_portfolio).items()
    }
    assert sum(len(frame) for frame in tables.values()) < sum(
        len(frame) for frame in read_tables(small_portfolio).values())
    truncated = write_tables(tables, tmp_path / "until_as_of",
                             DatasetManifest(cut.isoformat(), "warehouse"))
    blind = make_batch(truncated, tmp_path / "blind.parquet", "data=parquet")
    features = ["customer_id", "as_of", *labelled_batch.feature_names]
    pd.testing.assert_frame_equal(
        pq.read_table(blind.path).to_pandas()[features],
        pq.read_table(labelled_batch.path).to_pandas()[features],
        check_categorical=False,
    )
    assert "is_bad" not in pq.read_schema(blind.path).names       # labels only when asked


def test_score_accepts_the_batch(labelled_batch, training, tmp_path):
    matrix = training.matrix
    features = labelled_batch.feature_names[:40]
    estimator = xgb.XGBClassifier(n_estimators=20, max_depth=2, enable_categorical=True,
                                  n_jobs=1, tree_method="hist", random_state=0)
    estimator.fit(model_inputs(matrix, features), matrix["is_bad"].astype(np.int8))
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("tests")
    with mlflow.start_run():
        info = log_pd_version(PdModel.from_fitted(estimator, features), matrix, tmp_path, "pd_b")
    model = load_pd_model(info.model_uri)
    result = score_parquet(model, labelled_batch.path.parent, tmp_path / "scores.parquet")
    scores = pd.read_parquet(result.output)
    assert result.rows == len(labelled_batch.frame) and result.files == 1
    assert scores["customer_id"].tolist() == labelled_batch.frame["customer_id"].tolist()
    assert scores["probability_of_default"].between(0, 1).all()


def test_only_a_batch_the_toolkit_wrote_is_replaced(small_portfolio, tmp_path):
    mine = tmp_path / "mine.parquet"
    make_batch(small_portfolio, mine)
    first = pq.read_schema(mine).metadata[WRITER_KEY]
    make_batch(small_portfolio, mine, "with_labels=true")          # its own file: replaced
    assert "is_bad" in pq.read_schema(mine).names and b'"with_labels": true' in \
        pq.read_schema(mine).metadata[WRITER_KEY] and first != pq.read_schema(mine).metadata[
            WRITER_KEY]

    theirs = tmp_path / "theirs.parquet"
    pd.DataFrame({"customer_id": [1, 2]}).to_parquet(theirs)
    before = theirs.read_bytes()
    with pytest.raises(OutputFolderError, match="not written by credit-models-data batch"):
        make_batch(small_portfolio, theirs)
    assert theirs.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["mine.parquet", "theirs.parquet"]


@pytest.mark.parametrize("overrides,message", [
    (["as_of=2025-08-01"], "after the data set's extraction date 2025-07-01"),
    (["as_of=[2024-10-01,2024-10-01]"], "more than once"),
    (["as_of=October"], "'October' is not a date"),
    (["output=batch.csv"], "must name a .parquet file"),
    (["with_labels=true", "labels=provided"], "labels=provided"),
])
def test_a_bad_request_is_refused_before_anything_is_written(small_portfolio, tmp_path,
                                                             overrides, message):
    with pytest.raises(ConfigError, match=message):
        make_batch(small_portfolio, tmp_path / "out.parquet", *overrides)
    assert list(tmp_path.iterdir()) == []


def test_the_console_script_takes_batch_as_its_action(tmp_path):
    """`credit-models-data batch` composes conf/data_batch.yaml: a misspelt key and a missing
    as_of are usage errors (exit 2) naming the key."""
    script = [sys.executable, "-c", "from credit_models.jobs.data import main; main()", "batch"]
    missing = subprocess.run([*script, f"output={tmp_path / 'x.parquet'}"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120, check=False)
    assert (missing.returncode, "as_of" in missing.stderr) == (2, True), missing.stderr
    misspelt = subprocess.run([*script, "as_off=2024-10-01", "output=x.parquet"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)
    assert (misspelt.returncode, "as_off" in misspelt.stderr) == (2, True), misspelt.stderr
    assert not list(tmp_path.rglob("*.parquet"))
