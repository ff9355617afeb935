from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from credit_models.config.settings import to_settings
from credit_models.jobs.train import run_training
from tests.jobs.conftest import small_train_overrides


@pytest.fixture(scope="module")
def simulated_data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("simulated") / "portfolio"


@pytest.mark.slow
def test_main_job_end_to_end_logs_metrics_and_registers_a_version(trained_pd_run):
    config, result = trained_pd_run.config, trained_pd_run.result

    client = MlflowClient(tracking_uri=result.tracking_uri)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    for name in ("dev/auc", "valid/auc", "oot/auc", "oot/ks", "oot/gini", "oot/oracle_auc"):
        assert name in run.data.metrics, name
    assert run.data.metrics["oot/auc"] > 0.6
    assert run.data.metrics["oot/oracle_auc"] > run.data.metrics["oot/auc"] - 0.1
    assert run.data.params["labels.bad_days_past_due"] == "30"
    assert run.data.tags["model_family"] == "pd"
    artifacts = {item.path for item in client.list_artifacts(result.run_id, "plots")}
    assert "plots/roc_by_split.png" in artifacts
    reports = {item.path for item in client.list_artifacts(result.run_id, "reports")}
    assert "reports/validation_report.html" in reports
    for name in ("oot/ece", "oot/brier", "oot/log_loss", "oot/psi_score"):
        assert name in run.data.metrics, name
    # The ONNX export ships inside the registered model and matches XGBoost on the OOT rows.
    assert run.data.metrics["export/onnx_max_abs_diff"] <= 1e-5

    # What the UI shows: a name, a description with the headline metrics, the data sets.
    assert run.info.run_name.startswith("pd_xgb · dpd30_6m · portfolio")
    note = run.data.tags["mlflow.note.content"]
    assert "| OOT AUC |" in note and f"{run.data.metrics['oot/auc']:.4f}" in note
    inputs = {item.dataset.name: item for item in run.inputs.dataset_inputs}
    fingerprint = mlflow.artifacts.load_dict(
        f"{run.info.artifact_uri}/data/fingerprint.json")["combined_sha256"]
    assert inputs["portfolio"].dataset.digest == fingerprint[:32]
    contexts = {item.tags[0].value for item in inputs.values()}
    assert {"source", "training", "validation", "calibration", "test"} <= contexts
    assert '"rows"' in inputs["portfolio (oot)"].dataset.profile
    # The UI opens the experiment on its runs table, not on the GenAI traces overview.
    assert client.get_experiment(run.info.experiment_id).tags["mlflow.experimentKind"] == (
        "custom_model_development")
    # A calibrator is calibrated on its own rows by construction: not a logged metric.
    assert "calibration/ece" not in run.data.metrics and "oot/ece" in run.data.metrics

    version = client.get_model_version("pd_xgb", result.registered_version)
    assert version.run_id == result.run_id
    assert version.tags["oot/auc"] == f"{run.data.metrics['oot/auc']:.4f}"
    assert version.tags["training_run"] == result.run_id
    assert version.tags["label"] == "dpd30_6m" and version.tags["gate"].startswith("not run")
    assert "OOT AUC" in version.description

    mlflow.set_tracking_uri(result.tracking_uri)
    model = mlflow.pyfunc.load_model(f"models:/pd_xgb/{result.registered_version}")
    example = model.input_example
    scored = model.predict(example)
    assert list(scored.columns) == ["probability_of_default", "score"]
    assert np.all((scored["probability_of_default"] > 0) & (scored["probability_of_default"] < 1))

    # The same config and seed reproduce the same metrics.
    again = run_training(to_settings(config), config)
    assert again.metrics == pytest.approx(result.metrics)
    assert int(again.registered_version) == int(result.registered_version) + 1


@pytest.mark.slow
def test_console_script_runs_with_overrides_and_prints_where_to_look(tmp_path, simulated_data_dir):
    script = Path(sys.executable).with_name("credit-models-train")
    overrides = small_train_overrides(tmp_path, simulated_data_dir)
    completed = subprocess.run(
        [str(script), *overrides, f"hydra.run.dir={tmp_path / 'hydra'}", "mlflow.register=false"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    # The printed command works as printed: the environment's own mlflow.
    assert f"{Path(sys.executable).parent / 'mlflow'} ui --backend-store-uri sqlite:///" in (
        completed.stdout)
    assert "OOT AUC" in completed.stdout


def test_validate_job_lists_every_problem_and_exits_non_zero(tmp_path):
    from credit_models.data.io import DatasetManifest, write_tables
    from tests.portfolio_builder import EXTRACTION_DATE, tiny_tables, utc

    tables = tiny_tables()
    tables["orders"]["amount"] = tables["orders"]["amount"].astype("str")     # wrong dtype
    tables["bills"].loc[0, "amount_due"] = 1.0
    tables["bills"].loc[1, "minimum_due"] = -3.0                              # negative amount
    tables["repayments"].loc[2, "bill_id"] = 404                              # orphan repayment
    tables["customers"] = pd.concat([tables["customers"], tables["customers"].iloc[[0]]])  # dup
    tables["declines"].loc[0, "declined_at"] = utc("2031-01-01")              # future event
    root = tmp_path / "broken"
    write_tables(tables, root, DatasetManifest(EXTRACTION_DATE.isoformat(), "test"))
    script = Path(sys.executable).with_name("credit-models-data")
    completed = subprocess.run(
        [str(script), "validate", "data=parquet", f"data.path={root}",
         f"hydra.run.dir={tmp_path / 'hydra'}"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False,
    )
    assert completed.returncode == 1
    for fragment in ("[orders.amount] dtype must be numeric", "[bills.minimum_due] must be >= 0",
                     "[repayments.bill_id] must reference an existing bills.bill_id",
                     "[customers.customer_id] must be unique",
                     "[declines.declined_at] event at or after the extraction date"):
        assert fragment in completed.stdout, completed.stdout
