"""Every job ends a user's mistake with one message and an exit code, before any work: 2 for
usage and configuration, 1 for the data; the traceback only when asked for."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra.core.global_hydra import GlobalHydra

from credit_models.jobs import compare as compare_job
from credit_models.jobs import explain as explain_job
from credit_models.jobs import limits as limits_job
from credit_models.jobs import monitor as monitor_job
from credit_models.jobs import promote as promote_job
from credit_models.jobs import score as score_job
from credit_models.jobs import train as train_job
from credit_models.jobs import tune as tune_job
from credit_models.tracking.store import prepare_store
from credit_models.workflows import pd_training
from credit_models.workflows.pd_training import check_trainable


def overrides(tmp_path: Path, *extra: str) -> list[str]:
    """A data set that does not exist: a job that reads data before its check fails otherwise."""
    return ["data=parquet", f"data.path={tmp_path / 'no_such_portfolio'}",
            f"mlflow.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}", *extra]


def one_message(capsys, program: str) -> str:
    error = capsys.readouterr().err
    assert "Traceback" not in error, error
    lines = [line for line in error.strip().splitlines() if " INFO mlflow." not in line]
    assert len(lines) == 1 and lines[0].startswith(f"{program}: error: "), error
    return lines[0]


def test_a_negative_learning_rate_is_refused_before_any_data_are_read(
    compose_config, tmp_path, capsys
):
    cfg = compose_config("train", overrides(tmp_path, "model.params.learning_rate=-0.1"))
    assert train_job.main.run(cfg)[0] == 2
    message = one_message(capsys, "credit-models-train")
    assert "model.params.learning_rate must be in (0, 1]; got -0.1" in message


def test_zero_trials_are_refused_before_any_data_are_read(compose_config, tmp_path, capsys):
    cfg = compose_config("tune", overrides(tmp_path, "tuning.n_trials=0"))
    assert tune_job.main.run(cfg)[0] == 2
    assert "tuning.n_trials must be at least 1; got 0" in one_message(capsys, "credit-models-tune")


def test_a_missing_input_is_named_with_how_to_give_it(compose_config, tmp_path, capsys):
    cfg = compose_config("score", [f"mlflow.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}"])
    assert score_job.main.run(cfg)[0] == 2
    message = one_message(capsys, "credit-models-score")
    assert "input, output are required and not set" in message and "input=…" in message
    assert not (tmp_path / "mlflow.db").exists()        # refused before the store is touched


CONFIG_ERRORS = [
    (train_job, "train", ["model.params.max_depth=six"],
     "model.params.max_depth must be int or null; got 'six'"),
    (train_job, "train", ["+model.params.max_dept=6"],
     "model.params.max_dept is not a parameter of xgboost.XGBClassifier; did you mean max_depth"),
    (tune_job, "tune", ["tuning.n_trials=0"], "tuning.n_trials must be at least 1; got 0"),
    (tune_job, "tune", ["tuning.metric=oot/auc"], "tuning.metric=oot/auc is a metric of the oot"),
    (tune_job, "tune", ["split=stratified", "tuning.metric=cv/auc_mean"],
     "cross-validation folds run over every row, the test split's included"),
    (train_job, "train", ["model.early_stopping_rounds=0"],
     "model.early_stopping_rounds must be at least 1 or null"),
    (limits_job, "limits", ["model.params.max_depth=six"], "model.params.max_depth must be int"),
    (score_job, "score", ["input=in.parquet", "output=out.parquet", "batch_rows=0"],
     "batch_rows must be an integer >= 1; got 0"),
    (monitor_job, "monitor", ["input=in.parquet", "monitoring.top_features=0"],
     "monitoring.top_features must be an integer >= 1; got 0"),
    (explain_job, "explain", ["model_uri=models:/pd_xgb@champion", "as_of=2025-01-01", "top_k=0"],
     "top_k must be >= 1"),
    (compare_job, "compare", ["bins=1"], "bins must be an integer ≥ 2; got 1"),
    (promote_job, "promote", ["bins=1"], "bins must be an integer ≥ 2; got 1"),
]


@pytest.mark.parametrize("job,name,extra,fragment", CONFIG_ERRORS,
                         ids=[f"{case[1]}:{case[2][-1]}" for case in CONFIG_ERRORS])
def test_a_config_error_exits_2_before_the_store_is_made(compose_config, tmp_path, capsys, job,
                                                         name, extra, fragment):
    store = tmp_path / "mlflow.db"
    uri_key = "tracking_uri" if name == "explain" else "mlflow.tracking_uri"
    cfg = compose_config(name, [f"{uri_key}=sqlite:///{store}", *extra])
    assert job.main.run(cfg)[0] == 2
    assert fragment in one_message(capsys, f"credit-models-{name}")
    assert not list(tmp_path.iterdir())         # no store, no lock: the config answered first


def test_a_label_with_one_class_is_a_data_error(compose_config, tmp_path, capsys, monkeypatch):
    def one_class(cfg, stage):
        check_trainable(pd.Series(["dev"] * 3), pd.Series([False] * 3), ("dev",))

    monkeypatch.setattr(pd_training, "assemble_training_data", one_class)
    cfg = compose_config("train", overrides(tmp_path))
    assert train_job.main.run(cfg)[0] == 1
    assert "the dev split has 3 rows and 0 bads" in one_message(capsys, "credit-models-train")


def test_a_broken_store_is_refused_before_any_data_are_read(compose_config, tmp_path, capsys):
    database = tmp_path / "mlflow.db"
    prepare_store(f"sqlite:///{database}")
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE _alembic_tmp_experiments (experiment_id INTEGER)")
    cfg = compose_config("train", overrides(tmp_path))
    assert train_job.main.run(cfg)[0] == 2
    message = one_message(capsys, "credit-models-train")
    assert f"the MLflow store {database} is broken" in message and "Move it aside" in message


def test_verbose_adds_the_traceback(compose_config, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CREDIT_MODELS_VERBOSE", "1")
    cfg = compose_config("train", overrides(tmp_path, "model.params.learning_rate=0"))
    assert train_job.main.run(cfg)[0] == 2
    error = capsys.readouterr().err
    assert "Traceback" in error and "credit-models-train: error: model.params" in error


def test_a_bad_override_exits_2_with_hydra_s_message(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["credit-models-train", "model.params.learning_rate=fast",
                                      f"hydra.run.dir={tmp_path / 'hydra'}"])
    with pytest.raises(SystemExit) as exited:
        train_job.main()
    GlobalHydra.instance().clear()
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "learning_rate" in error and "Traceback" not in error


@pytest.mark.slow
def test_the_console_script_exits_2_on_a_missing_input(tmp_path):
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("credit-models-monitor")),
         f"hydra.run.dir={tmp_path / 'hydra'}"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False,
    )
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines()[-1] == (
        "credit-models-monitor: error: input is required and not set: give it on the command "
        "line (input=…)")
    assert not list(tmp_path.glob("*.db"))


@pytest.mark.slow
def test_a_config_error_answers_without_loading_the_training_stack(tmp_path):
    """What makes a config error answer in seconds: the console script refuses the value before
    MLflow, optbinning, matplotlib or Optuna are imported, and before the store is made."""
    script = (
        "import sys\n"
        "from credit_models.jobs.train import main\n"
        f"sys.argv = ['credit-models-train', 'model.params.max_depth=six',"
        f" 'hydra.run.dir={tmp_path / 'hydra'}']\n"
        "try:\n    main()\nexcept SystemExit as exited:\n    code = exited.code\n"
        "heavy = ('mlflow', 'optbinning', 'matplotlib', 'optuna', 'shap')\n"
        "print(code, sorted(name for name in heavy if name in sys.modules))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               timeout=300, cwd=tmp_path, check=False)
    assert completed.stdout.strip().splitlines()[-1] == "2 []", completed.stderr[-2000:]
    assert "model.params.max_depth must be int or null" in completed.stderr
    assert not list(tmp_path.glob("mlflow.db*"))
