from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from credit_models.config.settings import to_settings
from credit_models.errors import ConfigError
from credit_models.jobs import tune as tune_job
from credit_models.jobs.tune import run_tuning
from credit_models.workflows import tuning as tuning_workflow
from credit_models.workflows.study_settings import search_space
from credit_models.workflows.tuning import TuningError
from tests.jobs.conftest import small_train_overrides

SPACE_KEYS = ("max_depth", "learning_rate", "min_child_weight", "subsample", "colsample_bytree",
              "reg_lambda")


@pytest.fixture(scope="module")
def simulated_data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("simulated") / "portfolio"


FAST = [
    "model.params.n_estimators=60",
    "mlflow.register=false",
    "mlflow.log_feature_matrix=false",
    "selection.max_n_prebins=5",          # binning for the selection report, three times faster
]


def tune_overrides(tmp_path: Path, data_dir: Path, *extra: str) -> list[str]:
    return [*small_train_overrides(tmp_path, data_dir), *FAST, "tuning.n_trials=3", *extra]


def child_runs(client: MlflowClient, parent_id: str, kind: str) -> list:
    experiment_id = client.get_run(parent_id).info.experiment_id
    return client.search_runs(
        [experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_id}' and tags.tuning = '{kind}'",
        order_by=["attributes.start_time ASC"],
    )


@pytest.mark.slow
def test_study_logs_each_trial_as_a_child_run_and_the_best_on_the_parent(
    compose_config, tmp_path, simulated_data_dir
):
    config = compose_config("tune", tune_overrides(tmp_path, simulated_data_dir))
    result = run_tuning(to_settings(config), config)
    client = MlflowClient(tracking_uri=result.tracking_uri)

    parent = client.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["tuning"] == "parent"
    assert parent.data.tags["model_kind"] == "xgboost"
    assert parent.data.tags["data_source"] == "simulator"
    assert parent.data.params["tuning.n_trials"] == "3"
    assert parent.data.params["tuning.metric"] == "valid/auc"

    trials = child_runs(client, result.parent_run_id, "trial")
    assert [run.info.run_name for run in trials] == ["trial-0", "trial-1", "trial-2"]
    assert all(run.info.status == "FINISHED" for run in trials)
    chosen = [tuple(run.data.params[f"model.params.{key}"] for key in SPACE_KEYS)
              for run in trials]
    assert len(set(chosen)) == 3
    # Trial 0 is the configured model (conf/model/xgb_pd.yaml), the point of comparison.
    assert trials[0].data.params["model.params.max_depth"] == "4"
    assert trials[0].data.params["model.params.learning_rate"] == "0.05"
    for run in trials:
        for name in ("dev/auc", "valid/auc", "calibration/auc", "oot/auc", "oot/ks", "oot/ece"):
            assert name in run.data.metrics, name

    best_trial = max(trials, key=lambda run: run.data.metrics["valid/auc"])
    assert parent.data.metrics["valid/auc"] == best_trial.data.metrics["valid/auc"]
    assert parent.data.metrics["oot/auc"] == best_trial.data.metrics["oot/auc"]
    assert parent.data.tags["best_trial_run_id"] == best_trial.info.run_id
    for key in SPACE_KEYS:
        assert parent.data.params[f"best.{key}"] == best_trial.data.params[f"model.params.{key}"]
    assert result.best_value == best_trial.data.metrics["valid/auc"]
    assert result.baseline_value == trials[0].data.metrics["valid/auc"]

    artifacts = {item.path for item in client.list_artifacts(result.parent_run_id, "tuning")}
    assert {"tuning/trials.csv", "tuning/optimization_history.png",
            "tuning/param_importances.png"} <= artifacts
    table = pd.read_csv(mlflow.artifacts.download_artifacts(
        run_id=result.parent_run_id, artifact_path="tuning/trials.csv",
        tracking_uri=result.tracking_uri, dst_path=str(tmp_path / "download"),
    ))
    assert list(table["number"]) == [0, 1, 2]
    assert set(table["run_id"]) == {run.info.run_id for run in trials}
    assert table["value"].max() == pytest.approx(result.best_value)

    # The best configuration refitted and logged in full, as a child run of its own.
    (best,) = child_runs(client, result.parent_run_id, "best")
    assert best.info.run_id == result.best_run_id and best.info.run_name == "best"
    assert best.data.metrics["valid/auc"] == pytest.approx(result.best_value)
    for key in SPACE_KEYS:
        assert best.data.params[f"model.params.{key}"] == parent.data.params[f"best.{key}"]
    reports = {item.path for item in client.list_artifacts(result.best_run_id, "reports")}
    assert "reports/validation_report.html" in reports
    assert result.registered_version is None
    assert "oot/oracle_auc" in result.metrics
    summary = tune_job.summary_lines(result)
    assert "mlflow ui --backend-store-uri sqlite:///" in summary
    assert "with the configured params (trial-0)" in summary


@pytest.mark.slow
def test_same_config_and_seed_give_the_same_trials_and_the_best_model_is_registered(
    compose_config, tmp_path, simulated_data_dir
):
    overrides = tune_overrides(tmp_path, simulated_data_dir, "tuning.n_trials=2",
                               "tuning.baseline_trial=false")
    first_config = compose_config("tune", overrides)
    first = run_tuning(to_settings(first_config), first_config)
    second_config = compose_config("tune", [*overrides, "mlflow.register=true"])
    second = run_tuning(to_settings(second_config), second_config)
    client = MlflowClient(tracking_uri=first.tracking_uri)

    def trials(result) -> list[tuple]:
        return [(run.data.params["model.params.max_depth"],
                 run.data.params["model.params.learning_rate"], run.data.metrics["valid/auc"])
                for run in child_runs(client, result.parent_run_id, "trial")]

    assert trials(first) == trials(second)
    assert first.best_params == second.best_params
    assert first.registered_version is None
    version = client.get_model_version("pd_xgb", second.registered_version)
    assert version.run_id == second.best_run_id
    assert client.get_run(second.parent_run_id).data.tags["registered_version"] == \
        second.registered_version
    # A study that finds the registered config again registers no duplicate: it names it.
    third = run_tuning(to_settings(second_config), second_config)
    assert third.registered_version is None and third.duplicate_of == second.registered_version
    assert client.get_run(third.parent_run_id).data.tags["duplicate_of_version"] == \
        second.registered_version
    assert "not registered: version" in tune_job.summary_lines(third)


@pytest.mark.slow
def test_a_failing_trial_is_logged_failed_and_the_study_goes_on_unless_all_fail(
    compose_config, tmp_path, simulated_data_dir, monkeypatch
):
    real_fit = tuning_workflow.fit_and_evaluate
    calls = []

    def fail_second(table, settings, seed, data, **options):
        calls.append(settings.params["max_depth"])
        if len(calls) == 2:
            raise RuntimeError("simulated fit failure")
        return real_fit(table, settings, seed, data, **options)

    monkeypatch.setattr(tuning_workflow, "fit_and_evaluate", fail_second)
    config = compose_config("tune", tune_overrides(tmp_path, simulated_data_dir))
    result = run_tuning(to_settings(config), config)
    client = MlflowClient(tracking_uri=result.tracking_uri)
    trials = child_runs(client, result.parent_run_id, "trial")
    assert [run.info.status for run in trials] == ["FINISHED", "FAILED", "FINISHED"]
    assert "simulated fit failure" in trials[1].data.tags["error"]
    assert result.trials_complete == 2 and result.trials_failed == 1
    parent = client.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["tuning/trials_failed"] == 1

    def always_fail(*args, **kwargs):
        raise RuntimeError("simulated fit failure")

    monkeypatch.setattr(tuning_workflow, "fit_and_evaluate", always_fail)
    with pytest.raises(TuningError, match="all 3 trials failed.*simulated fit failure"):
        run_tuning(to_settings(config), config)
    failed_parent = client.search_runs(
        [parent.info.experiment_id], filter_string="tags.tuning = 'parent'",
        order_by=["attributes.start_time DESC"], max_results=1,
    )[0]
    assert failed_parent.info.status == "FAILED"
    assert mlflow.active_run() is None


@pytest.mark.parametrize("metric", ["oot/auc", "test/auc", "oot/ks"])
def test_a_test_split_metric_is_refused_before_any_data_are_read(compose_config, tmp_path,
                                                                  metric):
    missing = tmp_path / "never_created"
    config = compose_config("tune", [f"data.path={missing}", f"tuning.metric={metric}",
                                     f"mlflow.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}"])
    with pytest.raises(ConfigError, match="leakage") as raised:
        run_tuning(to_settings(config), config)
    assert f"tuning.metric={metric}" in str(raised.value)
    assert not missing.exists()


def test_a_metric_of_no_split_is_refused(compose_config, tmp_path):
    config = compose_config("tune", [f"data.path={tmp_path / 'x'}", "tuning.metric=auc"])
    with pytest.raises(ConfigError, match="split/metric"):
        run_tuning(to_settings(config), config)
    config = compose_config("tune", [f"data.path={tmp_path / 'x'}", "tuning.metric=train/auc"])
    with pytest.raises(ConfigError, match="'train' is not a split"):
        run_tuning(to_settings(config), config)


@pytest.mark.parametrize("overrides,fragment", [
    (["tuning.space.max_depth.type=uniform"], "tuning.space.max_depth.type must be one of"),
    (["tuning.space.subsample.low=1.0"], "tuning.space.subsample: low (1.0) must be below high"),
    (["tuning.space.reg_lambda.low=0"], "tuning.space.reg_lambda: log=true samples on a log"),
    (["tuning.space.max_depth.low=2.5"], "tuning.space.max_depth: type int needs whole"),
    (["+tuning.space.max_dept={type: int, low: 1, high: 3}"],
     "tuning.space.max_dept: 'max_dept' is not a key of model.params"),
    (["model=scorecard"], "tuning=scorecard"),
    (["tuning.space.subsample.type=categorical"],
     "tuning.space.subsample: type categorical needs a non-empty list of choices"),
    (["+tuning.space.max_depth.hihg=3"], "tuning.space.max_depth: unknown field(s) ['hihg']"),
    (["tuning.space.max_depth.low=two"], "tuning.space.max_depth.low must be a number"),
])
def test_a_bad_search_space_is_refused_naming_the_key(compose_config, tmp_path, overrides,
                                                     fragment):
    missing = tmp_path / "never_created"
    config = compose_config("tune", [f"data.path={missing}", *overrides])
    with pytest.raises(ConfigError) as raised:
        run_tuning(to_settings(config), config)
    assert fragment in str(raised.value)
    assert not missing.exists()


def test_search_space_of_every_kind():
    space = search_space(
        {"max_depth": {"type": "int", "low": 2, "high": 6},
         "learning_rate": {"type": "float", "low": 0.02, "high": 0.2, "log": True},
         "grow_policy": {"type": "categorical", "choices": ["depthwise", "lossguide"]}},
        {"max_depth": 4, "learning_rate": 0.05, "grow_policy": "depthwise"},
    )
    assert space["max_depth"].contains(4) and not space["max_depth"].contains(7)
    assert space["learning_rate"].log
    assert space["grow_policy"].choices == ("depthwise", "lossguide")
    with pytest.raises(ConfigError, match="tuning.space is empty"):
        search_space({}, {"max_depth": 4})
    with pytest.raises(ConfigError, match="tuning.space.grow_policy: choices apply to type"):
        search_space({"grow_policy": {"type": "float", "low": 0, "high": 1, "choices": [1]}},
                     {"grow_policy": 0.5})


def test_the_scorecard_search_composes_and_its_space_fits_the_scorecard(compose_config):
    config = compose_config("tune", ["model=scorecard", "tuning=scorecard"])
    space = search_space(config.tuning.space, config.model.params)
    assert set(space) == {"max_features", "C", "max_n_bins"}
    assert all(dimension.contains(config.model.params[name])
               for name, dimension in space.items())
    # A dimension can be added on the command line, next to its model parameter.
    added = compose_config("tune", ["+model.params.gamma=0.0",
                                    "+tuning.space.gamma={type: float, low: 0, high: 5}"])
    assert search_space(added.tuning.space, added.model.params)["gamma"].high == 5
    default = compose_config("tune", [])
    assert default.tuning.n_trials == 20 and default.tuning.sampler_seed == default.seed
    assert default.tuning.metric == "valid/auc" and default.tuning.timeout_s is None


@pytest.mark.slow
def test_train_multirun_is_one_parent_run_with_a_child_run_per_job(tmp_path, simulated_data_dir):
    script = Path(sys.executable).with_name("credit-models-train")
    overrides = [*small_train_overrides(tmp_path, simulated_data_dir), *FAST]
    completed = subprocess.run(
        [str(script), "-m", "model.params.max_depth=2,3", *overrides,
         f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tests")
    parents = client.search_runs([experiment.experiment_id], "tags.tuning = 'parent'")
    assert len(parents) == 1
    (parent,) = parents
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["sweep"] == "hydra_multirun"
    assert "model.params.max_depth=2,3" in parent.data.tags["sweep_overrides"]
    children = client.search_runs(
        [experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert sorted(run.data.params["model.params.max_depth"] for run in children) == ["2", "3"]
    assert all(run.info.status == "FINISHED" for run in children)
    assert len(client.search_runs([experiment.experiment_id], "")) == 3
    assert completed.stdout.count("OOT AUC") == 2


@pytest.mark.slow
def test_a_failed_sweep_ends_its_parent_run_failed(tmp_path):
    script = Path(sys.executable).with_name("credit-models-train")
    completed = subprocess.run(
        [str(script), "-m", "data=parquet",
         f"data.path={tmp_path / 'none_a'},{tmp_path / 'none_b'}",
         f"mlflow.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}", "mlflow.experiment_name=tests",
         f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False,
    )
    assert completed.returncode != 0
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tests")
    (parent,) = client.search_runs([experiment.experiment_id], "tags.tuning = 'parent'")
    assert parent.info.status == "FAILED"
    assert parent.info.end_time is not None
