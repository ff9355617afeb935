"""Champion and challenger: the comparison scores the same rows with both registered versions,
the gate decides, and the registry changes all at once or not at all.

Two small XGBoost PD models are fitted on a synthetic feature matrix and registered as pyfunc
versions of pd_xgb (1: weak, 2: strong, 3: the strong model again, trained for another label),
each with the feature matrix and the tags a training run logs, in a SQLite store built once per
module; each test works on a copy of it.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from mlflow import MlflowClient
from scipy.stats import ks_2samp
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from credit_models.config.settings import to_settings
from credit_models.evaluation.metrics import (
    expected_calibration_error,
    population_stability_index,
)
from credit_models.jobs import compare as compare_job
from credit_models.jobs import promote as promote_job
from credit_models.jobs.compare import run_comparison
from credit_models.jobs.promote import promote, run_promotion
from credit_models.models.calibration import ProbabilityCalibrator
from credit_models.models.pd_model import PdModel
from credit_models.models.xgb_pd import model_inputs
from credit_models.tracking.registry import aliases
from credit_models.workflows.comparison import ComparisonError
from credit_models.workflows.promotion import GateSettings, evaluate_gate
from tests.registry_store import (
    MODEL_REGISTRY_WRITES,
    in_child_process,
    intercept_writes,
    log_pd_version,
    wait_for,
)

NAME = "pd_xgb"
FEATURES = ["utilisation", "days_late", "tenure_months", "city_tier", "noise"]
WEAK_FEATURES = ["utilisation", "noise"]
MONTHS = pd.date_range("2024-01-01", periods=10, freq="MS")
SPLIT_BY_MONTH = ["dev"] * 6 + ["valid", "calibration", "oot", "oot"]


def synthetic_feature_matrix(customers: int = 700, seed: int = 3) -> pd.DataFrame:
    """customer_id, as_of, the features, is_bad, split: one row per customer and month."""
    rng = np.random.default_rng(seed)
    rows = customers * len(MONTHS)
    frame = pd.DataFrame({
        "customer_id": np.repeat(np.arange(customers), len(MONTHS)),
        "as_of": np.tile(MONTHS, customers),
        "utilisation": rng.uniform(0, 1.2, rows),
        "days_late": np.where(rng.random(rows) < 0.2, np.nan, rng.exponential(6, rows)),
        "tenure_months": rng.integers(1, 60, rows),      # int64, as counts are in a matrix
        "city_tier": rng.choice(["tier_1", "tier_2", "tier_3"], rows),
        "noise": rng.normal(size=rows),
    })
    log_odds = (-3.6 + 2.2 * frame["utilisation"] + 0.12 * frame["days_late"].fillna(3)
                - 0.015 * frame["tenure_months"]
                + frame["city_tier"].map({"tier_1": -0.4, "tier_2": 0.0, "tier_3": 0.5}))
    frame["is_bad"] = (rng.random(rows) < 1 / (1 + np.exp(-log_odds))).astype(np.int8)
    frame["split"] = np.tile(SPLIT_BY_MONTH, customers)
    return frame


def fit_model(matrix: pd.DataFrame, features: list[str], max_depth: int) -> PdModel:
    """A calibrated XGBoost PD model. A fixed number of trees, no early stopping: the pyfunc
    scores with every boosted round, so the fitted model and the registered one agree exactly."""
    inputs = model_inputs(matrix, features)
    split, is_bad = matrix["split"], matrix["is_bad"]
    estimator = xgb.XGBClassifier(n_estimators=40, max_depth=max_depth, learning_rate=0.1,
                                  n_jobs=1, tree_method="hist", enable_categorical=True,
                                  random_state=7)
    estimator.fit(inputs[split == "dev"], is_bad[split == "dev"])
    calibration = split == "calibration"
    calibrator = ProbabilityCalibrator().fit(estimator.predict_proba(inputs[calibration])[:, 1],
                                             is_bad[calibration].to_numpy(dtype=bool))
    return PdModel.from_fitted(estimator, features, calibrator=calibrator)


def log_version(model: PdModel, matrix: pd.DataFrame, label: str, folder: Path) -> str:
    """One training run as credit-models-train logs it (the parts the registry jobs read)."""
    with mlflow.start_run(), tempfile.TemporaryDirectory(dir=folder) as scratch:
        mlflow.set_tags({"model_family": "pd", "model_kind": "xgboost", "label": label,
                         "data_source": "synthetic", "test_split": "oot"})
        info = log_pd_version(model, matrix, Path(scratch), NAME)
    return str(info.registered_model_version)


@dataclass(frozen=True)
class TemplateStore:
    store: Path
    matrix: pd.DataFrame
    models: dict[str, PdModel]
    """version → the fitted model behind it."""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> TemplateStore:
    folder = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("training", artifact_location=(folder / "art").as_uri())
    mlflow.set_experiment(experiment_id=experiment)
    matrix = synthetic_feature_matrix()
    weak = fit_model(matrix, WEAK_FEATURES, max_depth=1)
    strong = fit_model(matrix, FEATURES, max_depth=3)
    versions = {
        log_version(weak, matrix, "dpd30_6m", folder): weak,
        log_version(strong, matrix, "dpd30_6m", folder): strong,
        log_version(strong, matrix, "dpd60_12m", folder): strong,
    }
    assert list(versions) == ["1", "2", "3"]
    return TemplateStore(folder / "mlflow.db", matrix, versions)


@pytest.fixture
def registry(template: TemplateStore, tmp_path: Path, monkeypatch) -> MlflowClient:
    """A copy of the template store; comparison runs log their artifacts under tmp_path."""
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(template.store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def job_config(compose_config, job: str, *overrides: str):
    return compose_config(job, [f"model_name={NAME}", *overrides])


def version_tags(client: MlflowClient, version: str) -> dict[str, str]:
    return dict(client.get_model_version(NAME, version).tags)


# ---------------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------------


def test_without_a_champion_nothing_is_compared(registry, compose_config, capsys):
    registry.set_registered_model_alias(NAME, "challenger", "2")
    code = compare_job.main.run(job_config(compose_config, "compare"))[0]
    assert code == 2
    error = capsys.readouterr().err
    assert "no champion" in error and "force=true" in error and "challenger → 2" in error
    assert registry.search_experiments(filter_string="name = 'credit_models_registry'") == []


def test_comparison_scores_the_same_rows_with_both_versions(
    registry, template, compose_config
):
    registry.set_registered_model_alias(NAME, "champion", "1")
    result = run_comparison(to_settings(job_config(compose_config, "compare", "challenger=2")))
    table = result.comparison.table

    # Computed here from the fitted models (not through the registry) on the challenger's OOT rows.
    matrix = template.matrix
    oot = matrix[matrix["split"] == "oot"].reset_index(drop=True)
    dev = matrix[matrix["split"] == "dev"]
    is_bad = oot["is_bad"].to_numpy(dtype=bool)
    for role, version in (("champion", "1"), ("challenger", "2")):
        model = template.models[version]
        features = list(model.feature_names_in_)
        probability = model.predict_proba(model_inputs(oot, features))[:, 1]
        np.testing.assert_allclose(result.comparison.probability[role], probability, rtol=1e-12)
        reference = model.predict_proba(model_inputs(dev, features))[:, 1]
        expected = {
            "rows": len(oot), "bads": is_bad.sum(),
            "auc": roc_auc_score(is_bad, probability),
            "gini": 2 * roc_auc_score(is_bad, probability) - 1,
            "ks": ks_2samp(probability[is_bad], probability[~is_bad]).statistic,
            "ece": expected_calibration_error(is_bad, probability),
            "brier": brier_score_loss(is_bad, probability),
            "log_loss": log_loss(is_bad, probability),
            "psi_score": population_stability_index(reference, probability),
            "rows_seen_in_training": 0,
        }
        for metric, value in expected.items():
            assert table.loc[metric, role] == pytest.approx(value, rel=1e-9, abs=1e-12), metric
    assert table.loc["auc", "challenger"] > table.loc["auc", "champion"] + 0.03
    assert table.loc["auc", "delta"] == pytest.approx(
        table.loc["auc", "challenger"] - table.loc["auc", "champion"])
    assert table.loc["auc", "better"] == "challenger"

    by_month = result.comparison.by_month
    assert list(by_month["month"]) == ["2024-09", "2024-10"]
    september = (oot["as_of"] == "2024-09-01").to_numpy()
    assert by_month.loc[0, "challenger_auc"] == pytest.approx(roc_auc_score(
        is_bad[september], result.comparison.probability["challenger"][september]))

    run = registry.get_run(result.run_id)
    assert run.data.tags["run_kind"] == "comparison"
    assert run.data.tags["champion_version"] == "1" and run.data.tags["challenger_version"] == "2"
    assert run.data.metrics["champion/oot_auc"] == pytest.approx(table.loc["auc", "champion"])
    assert run.data.metrics["challenger/oot_auc"] == pytest.approx(table.loc["auc", "challenger"])
    assert run.data.metrics["delta/auc"] == pytest.approx(table.loc["auc", "delta"])
    assert run.data.metrics["data/rows"] == len(oot)
    logged = {item.path for folder in ("comparison", "plots")
              for item in registry.list_artifacts(result.run_id, folder)}
    assert {"comparison/comparison_table.csv", "comparison/comparison.html",
            "comparison/auc_by_month.csv", "plots/champion_vs_challenger.png"} <= logged


def test_rows_without_a_models_features_are_refused_naming_them(
    registry, template, compose_config, tmp_path
):
    registry.set_registered_model_alias(NAME, "champion", "1")
    path = tmp_path / "oot.parquet"
    template.matrix.drop(columns=["noise", "city_tier"]).to_parquet(path)
    with pytest.raises(ComparisonError) as raised:
        run_comparison(to_settings(job_config(compose_config, "compare", "challenger=2",
                                  f"data.path={path}")))
    message = str(raised.value)
    assert "champion (version 1) of pd_xgb needs 1 feature(s) missing: noise" in message
    assert "challenger (version 2) of pd_xgb needs 2 feature(s) missing: city_tier, noise" \
        in message


def test_a_parquet_file_of_rows_is_scored_as_given(registry, template, compose_config, tmp_path):
    registry.set_registered_model_alias(NAME, "champion", "1")
    registry.set_registered_model_alias(NAME, "challenger", "2")
    path = tmp_path / "recent.parquet"
    template.matrix[template.matrix["as_of"] == "2024-10-01"].drop(columns="split").to_parquet(path)
    result = run_comparison(to_settings(job_config(compose_config, "compare", f"data.path={path}")))
    assert result.comparison.table.loc["rows", "champion"] == 700
    assert list(result.comparison.by_month["month"]) == ["2024-10"]


# ---------------------------------------------------------------------------------------------
# The gate
# ---------------------------------------------------------------------------------------------


def gate_input(**values: tuple[float, float]) -> pd.DataFrame:
    return pd.DataFrame(values, index=["champion", "challenger"]).T


def test_gate_rules_compare_each_value_with_its_threshold():
    table = gate_input(auc=(0.80, 0.80), ece=(0.010, 0.015), psi_score=(0.02, 0.1),
                       ks=(0.50, 0.49))
    rules = {rule.rule: rule for rule in evaluate_gate(table, GateSettings(), "dpd30", "dpd30")}
    assert [rule.passed for rule in rules.values()] == [True] * 5      # every limit is inclusive
    assert rules["auc_gain"].value == 0.0
    assert rules["ks_drop"].value == pytest.approx(0.01)

    worse = gate_input(auc=(0.80, 0.79), ece=(0.010, 0.0151), psi_score=(0.02, np.nan),
                       ks=(0.50, 0.48))
    failed = [rule.rule for rule in evaluate_gate(worse, GateSettings(), "dpd30", "dpd60")
              if not rule.passed]
    assert failed == ["auc_gain", "ece_increase", "challenger_psi", "ks_drop", "same_label"]
    lenient = GateSettings(min_auc_gain=-0.02, max_ece_increase=0.01, max_psi=10,
                         max_ks_drop=0.05, require_same_label=False)
    failed = [rule.rule for rule in evaluate_gate(worse, lenient, "dpd30", None) if not rule.passed]
    assert failed == ["challenger_psi"]          # a metric that could not be computed fails


# ---------------------------------------------------------------------------------------------
# Promotion
# ---------------------------------------------------------------------------------------------


def test_first_champion_needs_force(registry, compose_config, capsys):
    assert promote_job.main.run(job_config(compose_config, "promote", "challenger=1"))[0] == 2
    assert "no champion" in capsys.readouterr().err
    assert aliases(registry, NAME) == {}

    assert promote(to_settings(job_config(compose_config, "promote", "challenger=1",
                                          "force=true"))) == 0
    assert aliases(registry, NAME) == {"champion": "1"}
    tags = version_tags(registry, "1")
    assert tags["promotion_reason"] == "first champion, no gate possible (force=true)"
    assert "gate_results" not in tags       # no rule ran: the gate tag says why, never "[]"
    assert tags["gate"] == "not run: first champion, no gate possible (force=true)"
    run = registry.get_run(tags["promotion_run_id"])
    assert run.data.tags["run_kind"] == "promotion" and run.data.tags["decision"] == "promoted"


def test_a_better_challenger_is_promoted_and_the_reason_recorded(registry, compose_config):
    registry.set_registered_model_alias(NAME, "champion", "1")
    registry.set_registered_model_alias(NAME, "challenger", "2")
    result = run_promotion(to_settings(job_config(compose_config, "promote")))
    assert result.decision == "promoted" and result.exit_code == 0, result.message
    assert aliases(registry, NAME) == {"champion": "2", "previous_champion": "1"}

    tags = version_tags(registry, "2")
    assert tags["promotion_reason"] == "gate passed against version 1"
    assert tags["promoted_at"].startswith("20") and tags["promoted_over_version"] == "1"
    gate = {rule["rule"]: rule for rule in json.loads(tags["gate_results"])}
    assert set(gate) == {"auc_gain", "ece_increase", "challenger_psi", "ks_drop", "same_label"}
    assert all(rule["passed"] for rule in gate.values())
    assert gate["auc_gain"]["value"] == pytest.approx(
        result.comparison.table.loc["auc", "delta"])
    assert gate["auc_gain"]["threshold"] == 0.0

    run = registry.get_run(result.run_id)
    assert run.data.tags["decision"] == "promoted" and run.data.metrics["gate/passed"] == 1.0
    assert run.data.tags["run_kind"] == "promotion"
    logged = {item.path for item in registry.list_artifacts(result.run_id, "gate")}
    assert logged == {"gate/gate_results.csv"}


def test_a_failed_gate_moves_nothing_and_lists_the_failed_rules(
    registry, compose_config, capsys
):
    registry.set_registered_model_alias(NAME, "champion", "2")
    registry.set_registered_model_alias(NAME, "challenger", "1")
    before = aliases(registry, NAME)
    code = promote(to_settings(job_config(compose_config, "promote")))
    assert code == 1
    message = capsys.readouterr().err
    assert "gate failed; no alias moved" in message
    assert "FAIL auc_gain: challenger AUC − champion AUC = -0." in message
    assert "(must be ≥ 0)" in message
    assert aliases(registry, NAME) == before
    tags = version_tags(registry, "1")      # the verdict is on the version the gate judged
    assert "promotion_reason" not in tags and tags["gate"].startswith("failed: FAIL auc_gain")
    assert {rule["rule"]: rule["passed"] for rule in json.loads(tags["gate_results"])
            }["auc_gain"] is False
    runs = registry.search_runs(
        [registry.get_experiment_by_name("credit_models_registry").experiment_id])
    assert [run.data.tags["decision"] for run in runs] == ["rejected"]


def test_another_label_fails_the_gate_unless_allowed(registry, compose_config):
    registry.set_registered_model_alias(NAME, "champion", "2")
    rejected = run_promotion(to_settings(job_config(compose_config, "promote", "challenger=3")))
    assert rejected.exit_code == 1
    assert [rule.rule for rule in rejected.rules if not rule.passed] == ["same_label"]
    assert "champion dpd30_6m, challenger dpd60_12m" in rejected.message
    # The same model: every other rule passes at equality (limits are inclusive).
    allowed = run_promotion(to_settings(job_config(compose_config, "promote", "challenger=3",
                                       "gate.require_same_label=false")))
    assert allowed.decision == "promoted"
    assert aliases(registry, NAME) == {"champion": "3", "previous_champion": "2"}


def test_force_overrides_a_failed_gate_only_with_a_reason(registry, compose_config, capsys):
    registry.set_registered_model_alias(NAME, "champion", "2")
    registry.set_registered_model_alias(NAME, "challenger", "1")
    assert promote_job.main.run(job_config(compose_config, "promote", "force=true"))[0] == 2
    assert "force_reason" in capsys.readouterr().err
    assert aliases(registry, NAME) == {"champion": "2", "challenger": "1"}

    result = run_promotion(to_settings(job_config(compose_config, "promote", "force=true",
                                      "force_reason='regulator asked for the simpler model'")))
    assert result.decision == "promoted"
    assert aliases(registry, NAME) == {"champion": "1", "previous_champion": "2"}
    reason = version_tags(registry, "1")["promotion_reason"]
    assert reason.startswith("forced over a failed gate (auc_gain")
    assert reason.endswith(": regulator asked for the simpler model")
    assert registry.get_run(result.run_id).data.tags["forced"] == "true"


def test_an_interrupted_promotion_leaves_the_registry_as_it_was(
    registry, compose_config, monkeypatch
):
    registry.set_registered_model_alias(NAME, "champion", "1")
    registry.set_registered_model_alias(NAME, "challenger", "2")
    before = aliases(registry, NAME)
    calls = []
    original = MlflowClient.set_registered_model_alias

    def fail_on_second_call(self, name, alias, version):
        calls.append(alias)
        if len(calls) == 2:
            raise ConnectionError("registry went away")
        return original(self, name, alias, version)

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", fail_on_second_call)
    with pytest.raises(ConnectionError):
        run_promotion(to_settings(job_config(compose_config, "promote")))
    monkeypatch.undo()
    assert calls[:2] == ["champion", "previous_champion"]
    assert aliases(registry, NAME) == before
    assert version_tags(registry, "2") == {}
    run = registry.search_runs(
        [registry.get_experiment_by_name("credit_models_registry").experiment_id])[0]
    assert run.info.status == "FAILED" and run.data.tags["decision"] == "failed"


def test_promoting_the_champion_again_changes_nothing(registry, compose_config):
    registry.set_registered_model_alias(NAME, "champion", "2")
    result = run_promotion(to_settings(job_config(compose_config, "promote", "challenger=2")))
    assert result.decision == "unchanged" and result.exit_code == 0
    assert aliases(registry, NAME) == {"champion": "2"}


# ---------------------------------------------------------------------------------------------
# Promotions killed or run at the same time; versions whose training run did not finish. On a
# tiny registry (versions against runs, no model files): a first champion needs no comparison.
# ---------------------------------------------------------------------------------------------




def first_champion(compose_config, version: str):
    return job_config(compose_config, "promote", f"challenger={version}", "force=true")


def stalled_promotion(config, stall_at: int, ready: int, go: int) -> int:
    """Run the promote job in this (forked) process; its ``stall_at``-th registry write waits for
    the parent's go."""
    def stall() -> None:
        os.write(ready, b"x")
        os.read(go, 1)
    intercept_writes(MODEL_REGISTRY_WRITES, [], stall_at, stall)
    return promote_job.main.run(config)[0]


def race(config_a, config_b, stall_a_at: int) -> tuple[int, int]:
    """Promotion A stalls at its ``stall_a_at``-th registry write; promotion B runs whole
    meanwhile; then A goes on. Returns both exit codes."""
    ready_read, ready_write = os.pipe()
    go_read, go_write = os.pipe()
    pid_a = os.fork()
    if pid_a == 0:                            # pragma: no cover -- measured in the parent
        code = 99
        try:
            code = stalled_promotion(config_a, stall_a_at, ready_write, go_read)
        finally:
            os._exit(code)
    assert select.select([ready_read], [], [], 60)[0], "promotion A never reached its write"
    os.read(ready_read, 1)
    code_b = in_child_process(lambda: promote_job.main.run(config_b)[0])
    os.write(go_write, b"x")
    return wait_for(pid_a), code_b


def decisions(client: MlflowClient) -> dict[str, str]:
    """challenger version → the decision tag of its promotion run."""
    experiment = client.get_experiment_by_name("credit_models_registry")
    return {run.data.tags["challenger_version"]: run.data.tags["decision"]
            for run in client.search_runs([experiment.experiment_id])}


def test_of_two_promotions_at_once_the_one_that_checked_too_early_fails(
    tiny_registry, compose_config
):
    """A checks (no champion), stalls before its first write; B promotes version 3; A must not
    overwrite B's champion on the strength of its stale check."""
    code_a, code_b = race(first_champion(compose_config, "2"), first_champion(compose_config, "3"),
                          stall_a_at=1)
    assert (code_a, code_b) == (2, 0)
    assert aliases(tiny_registry, NAME) == {"champion": "3", "challenger": "3"}
    assert version_tags(tiny_registry, "2") == {}
    assert decisions(tiny_registry) == {"2": "failed", "3": "promoted"}


def test_a_promotion_in_progress_turns_another_away(tiny_registry, compose_config, capfd):
    """A has taken its turn (its intent is written) and stalls; B fails cleanly, then A ends."""
    code_a, code_b = race(first_champion(compose_config, "2"), first_champion(compose_config, "3"),
                          stall_a_at=2)
    assert (code_a, code_b) == (0, 2)
    assert "is being changed" in capfd.readouterr().err
    assert aliases(tiny_registry, NAME) == {"champion": "2", "challenger": "3"}
    assert version_tags(tiny_registry, "3") == {}
    assert decisions(tiny_registry) == {"2": "promoted"}      # B stopped before its run began


def test_a_promotion_killed_half_way_is_undone_and_the_rerun_promotes(
    tiny_registry, compose_config
):
    """Killed right after moving the champion alias, before its tags: the re-run must not find
    the version 'already the champion'."""
    config = first_champion(compose_config, "2")

    def killed_after_the_alias_move() -> int:
        intercept_writes(MODEL_REGISTRY_WRITES, [], 3, lambda: os._exit(137))
        return promote_job.main.run(config)[0]

    assert in_child_process(killed_after_the_alias_move) == 137
    assert aliases(tiny_registry, NAME)["champion"] == "2"          # half done
    result = run_promotion(to_settings(config))
    assert result.decision == "promoted", result.message
    assert aliases(tiny_registry, NAME) == {"champion": "2", "challenger": "3"}
    assert version_tags(tiny_registry, "2")["promotion_run_id"] == result.run_id
    killed = [run for run in tiny_registry.search_runs(
        [tiny_registry.get_experiment_by_name("credit_models_registry").experiment_id])
        if run.info.run_id != result.run_id]
    assert [(run.info.status, run.data.tags["decision"]) for run in killed] == [
        ("KILLED", "rolled_back_after_interruption")]


def test_a_version_whose_training_run_did_not_finish_is_refused(
    tiny_registry, compose_config, capsys
):
    experiment = tiny_registry.get_experiment_by_name("tests").experiment_id
    run = tiny_registry.create_run(experiment)              # killed after registering: RUNNING
    tiny_registry.create_model_version(NAME, f"runs:/{run.info.run_id}/model", run.info.run_id)
    tiny_registry.set_registered_model_alias(NAME, "champion", "1")
    expected = (f"pd_xgb version 4: its training run {run.info.run_id} is RUNNING, not FINISHED")

    assert compare_job.main.run(job_config(compose_config, "compare", "challenger=4"))[0] == 2
    assert expected in capsys.readouterr().err
    assert promote_job.main.run(job_config(compose_config, "promote", "challenger=4"))[0] == 2
    assert expected in capsys.readouterr().err
    assert aliases(tiny_registry, NAME) == {"champion": "1", "challenger": "3"}
