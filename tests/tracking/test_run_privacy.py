"""What a run stores about customers: no rows by default, a synthetic input example, and the
training rows got back (rebuilt from the data and checked) when a job needs them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from mlflow import MlflowClient
from mlflow.models import infer_signature
from omegaconf import DictConfig, OmegaConf

from credit_models.config.schema import register_configs
from credit_models.config.settings import to_settings
from credit_models.data.fingerprint import frame_fingerprint as matrix_fingerprint
from credit_models.data.io import read_manifest, read_tables, write_tables
from credit_models.paths import config_dir
from credit_models.tracking.input_example import signature_rows, synthetic_input_example
from credit_models.tracking.pd_pyfunc import public_inputs
from credit_models.tracking.training_rows import (
    FEATURE_MATRIX_ARTIFACT,
    MATRIX_REFERENCE_ARTIFACT,
    TrainingRowsError,
    log_training_rows,
    logged_training_rows,
    matrix_reference,
)
from credit_models.workflows.training_data import TrainingData, assemble_training_data
from credit_models.workflows.training_rows import training_rows_file

# ---------------------------------------------------------------------------------------------
# The input example
# ---------------------------------------------------------------------------------------------


def test_input_example_is_one_row_of_medians_and_most_common_values_with_the_same_signature():
    rows = pd.DataFrame({
        "utilisation": [0.1, 0.9, np.nan, 0.5, 0.3],
        "missed_payments": pd.Series([0, 4, 1, 1, 2], dtype="int64"),
        "channel": pd.Categorical(["web", "app", "app", None, "partner"],
                                  categories=["app", "partner", "web"]),
        "never_seen": [np.nan] * 5,
    })
    example = synthetic_input_example(rows)

    assert len(example) == 1
    assert example.iloc[0]["utilisation"] == pytest.approx(0.4)      # median of the known four
    assert example.iloc[0]["missed_payments"] == 1
    assert example.iloc[0]["channel"] == "app"
    assert np.isnan(example.iloc[0]["never_seen"])
    # Column types as real rows give them; optional wherever the data have missing values.
    signature = infer_signature(signature_rows(rows)).inputs
    assert signature == infer_signature(public_inputs(rows)).inputs
    assert [spec.required for spec in signature.inputs] == [False, True, False, False]


# ---------------------------------------------------------------------------------------------
# Training rows: logged on request, else rebuilt from the reference and verified
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmallData:
    config: DictConfig
    data: TrainingData
    tracking_uri: str
    folder: Path


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Iterator[SmallData]:
    """Labelled features of a 500-customer simulated portfolio (no model: a few seconds)."""
    folder = tmp_path_factory.mktemp("privacy")
    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        config = compose("train", [
            "data.simulator.n_customers=500", "data.simulator.chunk_size=500",
            f"data.path={folder / 'portfolio'}", f"engine.feature_cache_dir={folder / 'cache'}",
        ])
    GlobalHydra.instance().clear()
    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment_id=mlflow.create_experiment(
        "privacy", artifact_location=(folder / "artifacts").as_uri()))
    yield SmallData(config, assemble_training_data(to_settings(config)), tracking_uri, folder)


def logged_rows_run(small: SmallData, *, log_matrix: bool,
                    reference: dict | None = None) -> str:
    """A run holding what a PD run logs about its training rows (or a doctored reference)."""
    mlflow.set_tracking_uri(small.tracking_uri)
    resolved = OmegaConf.to_container(small.config, resolve=True, enum_to_str=True)
    with mlflow.start_run() as run:
        if reference is None:
            log_training_rows(small.data, resolved, log_matrix, small.folder)
        else:
            mlflow.log_dict(reference, MATRIX_REFERENCE_ARTIFACT)
    return run.info.run_id


def rows_file(client: MlflowClient, run_id: str, scratch: Path) -> Path:
    """The run's training rows as compare, monitor and explain get them: what the run logged,
    read from the store, then the matrix (rebuilt from the reference when it logged no rows)."""
    return training_rows_file(logged_training_rows(client, run_id, scratch))


def reference_of(small: SmallData, **changes) -> dict:
    resolved = OmegaConf.to_container(small.config, resolve=True, enum_to_str=True)
    reference = matrix_reference(small.data, small.data.matrix, resolved, logged=False)
    return json.loads(json.dumps({**reference, **changes}))


def test_opt_in_logs_the_matrix_and_a_reference_whose_fingerprint_matches_it(small_data,
                                                                              tmp_path):
    run_id = logged_rows_run(small_data, log_matrix=True)
    client = MlflowClient(small_data.tracking_uri)
    logged = {item.path for item in client.list_artifacts(run_id, "features")}
    assert {FEATURE_MATRIX_ARTIFACT, MATRIX_REFERENCE_ARTIFACT} <= logged

    matrix = pd.read_parquet(rows_file(client, run_id, tmp_path))
    reference = json.loads(Path(client.download_artifacts(
        run_id, MATRIX_REFERENCE_ARTIFACT, str(tmp_path))).read_text())
    assert reference["logged"] is True
    assert matrix_fingerprint(matrix) == reference["fingerprint"]
    assert reference["rows"] == len(matrix)
    assert reference["rows_by_split"] == matrix["split"].value_counts().to_dict()
    assert list(reference["columns"]) == list(matrix.columns)


def test_by_default_no_rows_are_logged_and_the_same_rows_are_rebuilt_from_the_reference(
    small_data, tmp_path
):
    run_id = logged_rows_run(small_data, log_matrix=False)
    client = MlflowClient(small_data.tracking_uri)
    logged = {item.path for item in client.list_artifacts(run_id, "features")}
    assert logged == {MATRIX_REFERENCE_ARTIFACT}

    rebuilt = pd.read_parquet(rows_file(client, run_id, tmp_path))
    original = small_data.data.matrix
    assert matrix_fingerprint(rebuilt) == matrix_fingerprint(original)
    pd.testing.assert_frame_equal(rebuilt.reset_index(drop=True),
                                  original.reset_index(drop=True), check_dtype=False,
                                  check_categorical=False)


def test_rows_are_refused_when_the_data_changed_since_training(small_data, tmp_path):
    moved = tmp_path / "portfolio"
    tables = read_tables(small_data.data.dataset.path)
    tables["orders"].loc[0, "amount"] += 1.0
    write_tables(tables, moved, read_manifest(small_data.data.dataset.path))
    reference = reference_of(small_data)
    reference["build"]["data"]["path"] = reference["data"]["path"] = str(moved)
    run_id = logged_rows_run(small_data, log_matrix=False, reference=reference)

    with pytest.raises(TrainingRowsError, match=r"changed since training.*"
                                                r"mlflow\.log_feature_matrix=true"):
        rows_file(MlflowClient(small_data.tracking_uri), run_id, tmp_path)


def test_rows_are_refused_when_the_rebuild_does_not_reproduce_the_fingerprint(small_data,
                                                                              tmp_path):
    run_id = logged_rows_run(small_data, log_matrix=False,
                             reference=reference_of(small_data, fingerprint="0" * 64))
    with pytest.raises(TrainingRowsError, match="rebuilt training rows differ"):
        rows_file(MlflowClient(small_data.tracking_uri), run_id, tmp_path)


def test_rows_of_a_gone_data_set_or_of_a_run_without_reference_say_how_to_get_them(
    small_data, tmp_path
):
    copy = tmp_path / "gone"
    shutil.copytree(small_data.data.dataset.path, copy)
    reference = reference_of(small_data)
    reference["build"]["data"]["path"] = reference["data"]["path"] = str(copy)
    gone = logged_rows_run(small_data, log_matrix=False, reference=reference)
    shutil.rmtree(copy)
    client = MlflowClient(small_data.tracking_uri)
    with pytest.raises(TrainingRowsError, match=f"{copy}, is gone.*log_feature_matrix=true"):
        rows_file(client, gone, tmp_path)

    with mlflow.start_run() as empty:
        pass
    with pytest.raises(TrainingRowsError, match="logged neither .*data.path=…"):
        rows_file(client, empty.info.run_id, tmp_path)
