"""A training run with the default settings stores no customer rows; monitoring gets its
reference rows back from the data."""

from __future__ import annotations

import json
from fnmatch import fnmatch
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from credit_models.config.settings import to_settings
from credit_models.jobs.monitor import run_monitoring
from credit_models.tracking.training_rows import FEATURE_MATRIX_ARTIFACT, logged_training_rows
from credit_models.workflows.training_rows import training_rows_file
from tests.jobs.conftest import TrainedRun, compose_once

ROW_COLUMNS = {"customer_id", "is_bad"}
"""Columns only a table of customers' rows has (``as_of`` alone also heads aggregates by month)."""
CUSTOMER_ATTRIBUTES = "customer__*__value"
"""Features copied from the customers table (age, income, education, occupation, …)."""


def tables_in(folder: Path, prefix: str = "") -> dict[str, pd.DataFrame]:
    """Every Parquet, CSV and JSON file under ``folder`` that holds a table, by path (an input
    example's ``dataframe_split`` included); the model's copy of the package code is skipped."""
    tables: dict[str, pd.DataFrame] = {}
    for path in sorted(folder.rglob("*")):
        name = prefix + str(path.relative_to(folder))
        if name.startswith(f"{prefix}code/"):
            continue
        if path.suffix == ".parquet":
            tables[name] = pd.read_parquet(path)
        elif path.suffix == ".csv":
            tables[name] = pd.read_csv(path)
        elif path.suffix == ".json":
            content = json.loads(path.read_text())
            if isinstance(content, dict):
                content = content.get("dataframe_split", content)
            if isinstance(content, dict) and isinstance(content.get("columns"), list) \
                    and isinstance(content.get("data"), list):
                tables[name] = pd.DataFrame(content["data"], columns=content["columns"])
            elif isinstance(content, list) and content and isinstance(content[0], dict):
                tables[name] = pd.DataFrame(content)
    return tables


@pytest.mark.slow
def test_a_default_run_stores_no_customer_rows_and_monitoring_rebuilds_its_reference(
    trained_pd_run: TrainedRun, tmp_path
):
    result = trained_pd_run.result
    client = MlflowClient(result.tracking_uri)
    run_id = result.run_id
    mlflow.set_tracking_uri(result.tracking_uri)
    model_folder = mlflow.artifacts.download_artifacts(
        f"models:/pd_xgb/{result.registered_version}", dst_path=str(tmp_path / "model"))
    tables = {**tables_in(Path(client.download_artifacts(run_id, "", str(tmp_path / "run")))),
              **tables_in(Path(model_folder), prefix="model/")}
    assert FEATURE_MATRIX_ARTIFACT not in tables
    assert {"model/input_example.json", "model/serving_input_example.json",
            "features/selection_report.csv"} <= set(tables)
    for name, table in tables.items():
        columns = set(map(str, table.columns))
        assert not columns & ROW_COLUMNS, (name, sorted(columns)[:10])
        attributes = [column for column in columns if fnmatch(column, CUSTOMER_ATTRIBUTES)]
        assert not attributes or len(table) <= 1, (name, attributes, len(table))

    # The example is typical values of the test split's rows, not a customer's row.
    rows = pd.read_parquet(training_rows_file(logged_training_rows(client, run_id, tmp_path)))
    example = tables["model/input_example.json"]
    assert len(example) == 1
    test_rows = rows[rows["split"] == trained_pd_run.result.test_split]
    numeric = [name for name in example.columns if pd.api.types.is_numeric_dtype(test_rows[name])]
    assert numeric
    pd.testing.assert_series_equal(
        example.iloc[0][numeric].astype(float), test_rows[numeric].median().astype(float),
        check_names=False)

    # Monitoring compares a batch with the rebuilt development rows (nothing was logged).
    batch = tmp_path / "batch.parquet"
    test_rows.drop(columns=["split"]).to_parquet(batch, index=False)
    config = compose_once("monitor", [
        f"input={batch}", f"model_uri=models:/pd_xgb/{trained_pd_run.result.registered_version}",
        f"mlflow.tracking_uri={trained_pd_run.result.tracking_uri}",
        f"output_dir={tmp_path / 'monitoring'}", "mlflow.log_run=false",
    ])
    monitored = run_monitoring(to_settings(config))
    assert monitored.result.reference_rows == int((rows["split"] == "dev").sum()) > 0
    assert monitored.result.current_rows == len(test_rows)
    assert (monitored.output_dir / "checks.csv").is_file()
