"""Batch scoring and monitoring against a tiny registered model (a small XGBoost fitted here and
logged as the serving pyfunc, with its feature matrix), without the training job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xgboost as xgb
from mlflow import MlflowClient

from credit_models.config.settings import to_settings
from credit_models.evaluation.metrics import ranking_metrics
from credit_models.jobs.monitor import ALERT_EXIT_CODE, run_monitoring
from credit_models.jobs.score import run_scoring
from credit_models.models.pd_model import PdModel
from credit_models.models.xgb_pd import model_inputs
from credit_models.tracking.model_loading import (
    ModelLoadingError,
    load_pd_model,
    resolve_model_uri,
)
from credit_models.tracking.pd_pyfunc import (
    OUTPUT_COLUMNS,
    public_inputs,
)
from credit_models.workflows import scoring
from credit_models.workflows.scoring import ScoringInputError, score_parquet
from tests.registry_store import log_pd_version

MODEL_NAME = "pd_tiny"
FEATURES = ["utilisation", "missed_payments", "tenure_days", "noise_amount", "channel"]
SHIFTED, THINNED = "noise_amount", "tenure_days"
"""Features with no effect on the label: the model barely reads them, so moving them moves their
own checks and not the score's."""


def feature_rows(rows: int, seed: int, first_month: str = "2023-01-01", months: int = 6, *,
                 shift: float = 0.0, missing_share: float = 0.15) -> pd.DataFrame:
    """customer_id, as_of, the features and is_bad, from one fixed population."""
    rng = np.random.default_rng(seed)
    as_of = pd.date_range(first_month, periods=months, freq="MS", tz="UTC")
    utilisation = rng.beta(2, 3, rows)
    missed = rng.poisson(0.2 + 0.8 * utilisation).astype(float)
    channel = rng.choice(["app", "web", "partner"], rows, p=[0.6, 0.3, 0.1])
    log_odds = -3.0 + 3.0 * utilisation + 0.8 * missed + 0.4 * (channel == "partner")
    tenure = rng.gamma(2.0, 250.0, rows)
    tenure[rng.random(rows) < missing_share] = np.nan
    return pd.DataFrame({
        "customer_id": np.arange(rows, dtype=np.int64) + seed * 1_000_000,
        "as_of": np.repeat(as_of, -(-rows // months))[:rows],
        "utilisation": utilisation,
        "missed_payments": missed,
        "tenure_days": tenure,
        "noise_amount": rng.normal(100.0, 20.0, rows) + shift * 20.0,
        "channel": pd.Categorical(channel, categories=["app", "partner", "web"]),
        "is_bad": rng.random(rows) < 1 / (1 + np.exp(-log_odds)),
    })


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> dict:
    """A sqlite store with version 1 of ``pd_tiny`` (alias ``champion``), its training run holding
    ``features/feature_matrix.parquet`` and ``oot/auc``."""
    folder = tmp_path_factory.mktemp("registry")
    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("tests")
    development = feature_rows(3000, seed=1).assign(split="dev")
    oot = feature_rows(1000, seed=2, first_month="2023-07-01", months=2).assign(split="oot")
    matrix = pd.concat([development, oot], ignore_index=True)
    inputs = model_inputs(matrix, FEATURES)
    estimator = xgb.XGBClassifier(n_estimators=40, max_depth=2, learning_rate=0.1,
                                  min_child_weight=50, enable_categorical=True, n_jobs=1,
                                  tree_method="hist", random_state=0)
    dev = (matrix["split"] == "dev").to_numpy()
    estimator.fit(inputs[dev], matrix.loc[dev, "is_bad"].astype(np.int8))
    model = PdModel.from_fitted(estimator, FEATURES)
    oot_auc = ranking_metrics(matrix.loc[~dev, "is_bad"],
                              model.predict_proba(inputs[~dev])[:, 1])["auc"]
    with mlflow.start_run() as run:
        mlflow.set_tag("test_split", "oot")
        mlflow.log_metric("oot/auc", oot_auc)
        log_pd_version(model, matrix, folder, MODEL_NAME)
    MlflowClient().set_registered_model_alias(MODEL_NAME, "champion", "1")
    return {"tracking_uri": tracking_uri, "run_id": run.info.run_id, "oot_auc": oot_auc,
            "uri": f"models:/{MODEL_NAME}@champion"}


@pytest.fixture
def loaded(registry):
    mlflow.set_tracking_uri(registry["tracking_uri"])
    return load_pd_model(registry["uri"])


def write_in_pieces(frame: pd.DataFrame, folder: Path) -> Path:
    """Two files with unequal row groups, so batches straddle row groups and files."""
    folder.mkdir(parents=True)
    half = len(frame) // 2 + 7
    frame.iloc[:half].to_parquet(folder / "part-0.parquet", index=False, row_group_size=53)
    frame.iloc[half:].to_parquet(folder / "part-1.parquet", index=False, row_group_size=200)
    return folder


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def test_alias_resolves_to_its_version_and_signature_lists_the_features(loaded, registry):
    model = loaded
    resolved = model.resolved
    assert (resolved.name, resolved.version, resolved.alias) == (MODEL_NAME, "1", "champion")
    assert resolved.load_uri == f"models:/{MODEL_NAME}/1"
    assert resolved.run_id == registry["run_id"]
    assert model.features == FEATURES
    assert resolve_model_uri(f"runs:/{registry['run_id']}/model").run_id == registry["run_id"]
    assert resolve_model_uri(f"{MODEL_NAME}/1").load_uri == f"models:/{MODEL_NAME}/1"
    assert resolve_model_uri(f"models:/{MODEL_NAME}/latest").version == "1"


@pytest.mark.parametrize("uri,expected", [
    (f"models:/{MODEL_NAME}@challenger",
     ["no alias 'challenger'", "versions: 1", "champion → 1", "set_registered_model_alias"]),
    (f"models:/{MODEL_NAME}/7", ["no version 7", "versions: 1", "champion → 1"]),
    (f"{MODEL_NAME}@challenger", ["no alias 'challenger'", "champion → 1"]),
    ("models:/pd_missing@champion", ["no registered model 'pd_missing'", MODEL_NAME]),
    ("runs:/0123456789abcdef/model", ["no run '0123456789abcdef'"]),
    (f"models:/{MODEL_NAME}/Production", ["neither a version number nor 'latest'"]),
])
def test_a_uri_naming_nothing_says_what_exists(registry, uri, expected):
    mlflow.set_tracking_uri(registry["tracking_uri"])
    with pytest.raises(ModelLoadingError) as raised:
        resolve_model_uri(uri)
    for text in expected:
        assert text in str(raised.value)


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


def test_batched_scoring_equals_scoring_the_whole_frame(loaded, tmp_path):
    model = loaded
    resolved = model.resolved
    frame = feature_rows(523, seed=5).sample(frac=1.0, random_state=3).reset_index(drop=True)
    source = write_in_pieces(frame, tmp_path / "batch")
    output = tmp_path / "out" / "scores.parquet"

    result = score_parquet(model, source, output, batch_rows=70)

    scored = pd.read_parquet(output)
    expected = model.predict(public_inputs(model_inputs(frame, FEATURES)))
    assert result.rows == len(frame) == len(scored)
    assert list(scored.columns) == ["customer_id", "as_of", *OUTPUT_COLUMNS, "model_uri",
                                    "model_version"]
    pd.testing.assert_series_equal(scored["customer_id"], frame["customer_id"])
    pd.testing.assert_series_equal(scored["as_of"], frame["as_of"], check_dtype=False)
    assert str(scored["as_of"].dtype).endswith("UTC]")
    for name in OUTPUT_COLUMNS:
        np.testing.assert_array_equal(scored[name].to_numpy(), expected[name].to_numpy())
    assert set(scored["model_uri"]) == {resolved.uri} and set(scored["model_version"]) == {"1"}
    assert [path.name for path in output.parent.iterdir()] == ["scores.parquet"]


def test_integers_and_plain_strings_are_read_as_the_signature_types(loaded, tmp_path):
    model = loaded
    frame = feature_rows(90, seed=8)
    source = tmp_path / "batch.parquet"
    frame.assign(missed_payments=frame["missed_payments"].astype("int64"),
                 channel=frame["channel"].astype(object)).to_parquet(source)
    score_parquet(model, source, tmp_path / "scores.parquet", batch_rows=40)
    expected = model.predict(public_inputs(model_inputs(frame, FEATURES)))
    np.testing.assert_array_equal(pd.read_parquet(tmp_path / "scores.parquet")["score"],
                                  expected["score"])

    frame.assign(utilisation="high").to_parquet(source)
    with pytest.raises(ScoringInputError, match="'utilisation'"):
        score_parquet(model, source, tmp_path / "again.parquet", batch_rows=40)
    assert not (tmp_path / "again.parquet").exists()


def test_missing_features_are_named_before_anything_is_written(loaded, tmp_path):
    model = loaded
    source = tmp_path / "batch.parquet"
    feature_rows(50, seed=5).drop(columns=["tenure_days", "channel"]).to_parquet(source)
    output = tmp_path / "out" / "scores.parquet"
    with pytest.raises(ScoringInputError) as raised:
        score_parquet(model, source, output, batch_rows=20)
    assert "'tenure_days'" in str(raised.value) and "'channel'" in str(raised.value)
    assert not output.exists() and not any(output.parent.glob("*"))


def test_a_batch_the_model_refuses_is_a_data_error_naming_its_rows(loaded, tmp_path):
    model = loaded
    rows = feature_rows(120, seed=5)
    rows.loc[[70, 75], "missed_payments"] = -1e9        # outside the training contract
    source = tmp_path / "batch.parquet"
    rows.to_parquet(source, index=False)
    output = tmp_path / "scores.parquet"
    with pytest.raises(ScoringInputError) as raised:
        score_parquet(model, source, output, batch_rows=50)
    message = str(raised.value)
    assert "rows 50 to 99" in message and "missed_payments" in message
    assert not output.exists()


def test_a_failure_midway_leaves_no_output_and_keeps_the_previous_one(
        loaded, tmp_path, monkeypatch):
    model = loaded
    source = write_in_pieces(feature_rows(300, seed=5), tmp_path / "batch")
    output = tmp_path / "scores.parquet"
    output.write_bytes(b"previous scores")
    calls = []
    real = scoring.score_batch

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("scoring service fell over")
        return real(*args, **kwargs)

    monkeypatch.setattr(scoring, "score_batch", failing)
    with pytest.raises(RuntimeError, match="fell over"):
        score_parquet(model, source, output, batch_rows=50)
    assert len(calls) == 3
    assert output.read_bytes() == b"previous scores"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["batch", "scores.parquet"]


def test_score_job_from_its_config(compose_config, registry, tmp_path):
    source = tmp_path / "batch.parquet"
    feature_rows(120, seed=6).to_parquet(source)
    config = compose_config("score", [
        f"model_uri=models:/{MODEL_NAME}/1", f"input={source}",
        f"output={tmp_path / 'scores.parquet'}", "batch_rows=50", "show_progress=false",
        f"mlflow.tracking_uri={registry['tracking_uri']}",
    ])
    result = run_scoring(to_settings(config))
    assert result.rows == 120
    assert pq.read_metadata(tmp_path / "scores.parquet").num_rows == 120


# ---------------------------------------------------------------------------------------------
# Monitoring
# ---------------------------------------------------------------------------------------------


def monitor_config(compose_config, registry, source: Path, output_dir: Path, *extra: str):
    return compose_config("monitor", [
        f"model_uri={registry['uri']}", f"input={source}", f"output_dir={output_dir}",
        f"mlflow.tracking_uri={registry['tracking_uri']}",
        "mlflow.experiment_name=tests_monitoring", *extra,
    ])


def test_an_unshifted_batch_passes_every_check(compose_config, registry, tmp_path):
    source = tmp_path / "batch.parquet"
    feature_rows(1500, seed=11).drop(columns="is_bad").to_parquet(source)
    run = run_monitoring(to_settings(monitor_config(compose_config, registry, source,
                                                    tmp_path / "monitor")))

    checks = run.result.checks
    assert run.exit_code == 0, checks[checks["status"] == "alert"]
    assert set(checks["status"]) == {"ok"}
    assert set(checks["check"]) == {"score_psi", "feature_csi", "missing_rate_increase"}
    assert run.result.performance is None
    written = {path.relative_to(tmp_path / "monitor").as_posix()
               for path in (tmp_path / "monitor").rglob("*") if path.is_file()}
    assert {"checks.csv", "score_stability.csv", "feature_stability.csv",
            "monitoring_report.html", "plots/score_psi.png", "plots/feature_csi.png",
            "plots/missing_rate_increase.png"} <= written

    client = MlflowClient(tracking_uri=registry["tracking_uri"])
    logged = client.get_run(run.run_id)
    assert logged.data.tags["run_kind"] == "monitoring"
    assert (logged.data.tags["model_name"], logged.data.tags["model_version"]) == (MODEL_NAME, "1")
    assert logged.data.metrics["monitor/alerts"] == 0
    artifacts = {item.path for item in client.list_artifacts(run.run_id)}
    assert {"checks.csv", "monitoring_report.html", "plots"} <= artifacts


def test_a_shifted_feature_and_a_doubled_missing_rate_alert_on_exactly_those_checks(
        compose_config, registry, tmp_path):
    source = tmp_path / "batch.parquet"
    feature_rows(1500, seed=12, shift=1.0, missing_share=0.30).drop(columns="is_bad").to_parquet(
        source)
    config = monitor_config(compose_config, registry, source, tmp_path / "monitor",
                            "mlflow.log_run=false")
    run = run_monitoring(to_settings(config))

    alerts = run.result.alerts
    assert run.exit_code == ALERT_EXIT_CODE
    assert sorted(zip(alerts["check"], alerts["subject"], strict=True)) == [
        ("feature_csi", SHIFTED), ("missing_rate_increase", THINNED)]
    assert run.run_id is None
    checks = pd.read_csv(tmp_path / "monitor" / "checks.csv")
    assert list(checks.columns) == ["check", "subject", "value", "threshold", "status"]
    assert (checks["status"] == "alert").sum() == 2


def test_a_labelled_batch_is_checked_month_by_month(compose_config, registry, tmp_path):
    source = tmp_path / "batch.parquet"
    batch = feature_rows(2400, seed=13, first_month="2024-01-01", months=3)
    batch["is_bad"] = batch["is_bad"].astype("boolean")
    batch.loc[batch["as_of"] == batch["as_of"].max(), "is_bad"] = pd.NA    # not yet matured
    batch.to_parquet(source)
    run = run_monitoring(to_settings(monitor_config(
        compose_config, registry, source, tmp_path / "monitor", "monitoring.min_auc=0.99",
        "mlflow.log_run=false")))

    performance = run.result.performance
    assert list(performance["month"]) == ["2024-01", "2024-02", "all"]
    assert performance["rows"].tolist() == [800, 800, 1600]
    assert performance["auc"].between(0.6, 0.95).all()
    checks = run.result.checks.set_index(["check", "subject"])
    drop = checks.loc[("auc_drop", "2024-01")]
    assert drop["value"] == pytest.approx(registry["oot_auc"] - performance["auc"].iloc[0])
    assert drop["status"] == "ok"
    assert checks.loc[("auc_minimum", "2024-02"), "status"] == "alert"      # floor 0.99
    assert run.exit_code == ALERT_EXIT_CODE
    assert (tmp_path / "monitor" / "plots" / "auc_by_month.png").is_file()
    assert "Performance by month" in (tmp_path / "monitor" / "monitoring_report.html").read_text()


@pytest.mark.slow
def test_monitor_console_script_prints_the_alerts_and_exits_3(registry, tmp_path):
    source = tmp_path / "batch.parquet"
    feature_rows(800, seed=14, shift=1.0).drop(columns="is_bad").to_parquet(source)
    completed = subprocess.run(
        [sys.executable, "-m", "credit_models.jobs.monitor", f"input={source}",
         f"model_uri={registry['uri']}", f"output_dir={tmp_path / 'out'}",
         f"mlflow.tracking_uri={registry['tracking_uri']}", "mlflow.log_run=false"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False,
    )
    assert completed.returncode == ALERT_EXIT_CODE, completed.stderr[-3000:]
    assert "ALERT: 1 of" in completed.stdout and SHIFTED in completed.stdout
    assert (tmp_path / "out" / "monitoring_report.html").is_file()


def test_monitoring_a_missing_alias_names_it_and_what_exists(compose_config, registry, tmp_path):
    source = tmp_path / "batch.parquet"
    feature_rows(100, seed=14).to_parquet(source)
    config = monitor_config(compose_config, registry, source, tmp_path / "monitor",
                            f"model_uri=models:/{MODEL_NAME}@challenger")
    with pytest.raises(ModelLoadingError) as raised:
        run_monitoring(to_settings(config))
    assert "has no alias 'challenger'" in str(raised.value)
    assert "champion → 1" in str(raised.value)
    assert not (tmp_path / "monitor").exists()


def test_unlabelled_columns_absent_from_the_batch_are_named(compose_config, registry, tmp_path):
    source = tmp_path / "batch.parquet"
    table = pa.Table.from_pandas(feature_rows(100, seed=15).drop(columns=["utilisation"]))
    pq.write_table(table, source)
    with pytest.raises(ValueError, match="utilisation"):
        run_monitoring(to_settings(monitor_config(compose_config, registry, source,
                                                  tmp_path / "monitor", "mlflow.log_run=false")))
