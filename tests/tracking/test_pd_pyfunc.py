"""The served model is the validated model: same trees or scorecard, same calibration, same score
scale; it is saved as data (no pickle) and refuses requests that break its input contract with a
bad-request error naming the column, the rule and the rows."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import cloudpickle
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from credit_models.models.pd_model import PdModel
from credit_models.models.settings import ModelSettings
from credit_models.tracking.model_code import PD_MODEL_CODE
from credit_models.tracking.pd_pyfunc import (
    OUTPUT_COLUMNS,
    PICKLED_SCORECARD_FILE,
    SCORECARD_FILE,
    ProbabilityOfDefaultModel,
    feature_contract,
    public_inputs,
    typed_inputs,
    write_model_files,
)


def portfolio(rows: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"days_late": rng.exponential(4, rows),
                          "city": pd.Categorical(rng.choice(["x", "y", "z"], rows))})
    is_bad = pd.Series(rng.random(rows) < 1 / (1 + np.exp(-(0.3 * frame["days_late"] - 3))))
    return frame, is_bad


def served_from(files: dict[str, str]) -> ProbabilityOfDefaultModel:
    served = ProbabilityOfDefaultModel()
    served.load_context(SimpleNamespace(artifacts=files))
    return served


def test_exported_model_serves_exactly_the_validated_probabilities(tmp_path):
    frame, is_bad = portfolio()
    settings = ModelSettings(**{
        "params": {"n_estimators": 400, "learning_rate": 0.3, "n_jobs": 1},
        "early_stopping_rounds": 10,
    })
    model = PdModel.from_settings(settings, random_state=1).fit(
        frame[:2500], is_bad[:2500], eval_set=(frame[2500:3000], is_bad[2500:3000]),
        calibration_set=(frame[3000:3500], is_bad[3000:3500]))
    assert model.best_iteration_ + 1 < model.estimator_.get_booster().num_boosted_rounds()
    served = served_from(write_model_files(model, feature_contract(frame, {}), tmp_path))
    scored = served.predict(None, public_inputs(frame[3500:]))
    expected = model.predict_proba(frame[3500:])[:, 1]
    assert np.abs(scored["probability_of_default"].to_numpy() - expected).max() == 0.0
    assert scored["score"].to_numpy() == pytest.approx(model.points(expected))
    with pytest.raises(MlflowException, match=r"lack 1 model feature\(s\): \['city'\]") as raised:
        served.predict(None, public_inputs(frame[3500:]).drop(columns="city"))
    assert raised.value.get_http_status_code() == 400


@pytest.fixture(scope="module")
def scorecard_export(tmp_path_factory):
    """A scorecard PD model saved as the train job logs it (models-from-code pyfunc)."""
    frame, is_bad = portfolio(3000, seed=2)
    settings = ModelSettings(**{
        "family": "scorecard", "params": {"selection": "none", "n_jobs": 1},
        "calibration": "platt"})
    model = PdModel.from_settings(settings, random_state=1).fit(
        frame[:2000], is_bad[:2000], eval_set=(frame[2000:2500], is_bad[2000:2500]),
        calibration_set=(frame[2000:2500], is_bad[2000:2500]))
    folder = tmp_path_factory.mktemp("scorecard")
    (folder / "files").mkdir()
    files = write_model_files(model, feature_contract(frame[:2500], {}), folder / "files")
    rows = public_inputs(frame[2500:])
    rows.loc[rows.index[:3], "city"] = "unseen"                  # becomes missing, as trained
    signature = infer_signature(rows.head(5), pd.DataFrame(
        {name: np.zeros(5) for name in OUTPUT_COLUMNS}))
    mlflow.pyfunc.save_model(folder / "pyfunc", python_model=str(PD_MODEL_CODE), artifacts=files,
                             signature=signature, pip_requirements=["mlflow"])
    return model, files, folder / "pyfunc", rows


def test_scorecard_is_saved_as_json_and_loads_without_unpickling(scorecard_export, monkeypatch):
    model, files, path, rows = scorecard_export
    assert files["estimator"].endswith(SCORECARD_FILE)

    def refuse(*args, **kwargs):
        raise AssertionError("a model was unpickled while loading")

    for module in (pickle, cloudpickle):
        monkeypatch.setattr(module, "load", refuse)
        monkeypatch.setattr(module, "loads", refuse)
    scored = mlflow.pyfunc.load_model(str(path)).predict(rows)
    expected = model.predict_proba(typed_inputs(served_from(files).contract_, rows))[:, 1]
    np.testing.assert_array_equal(scored["probability_of_default"].to_numpy(), expected)


def test_a_pickled_scorecard_of_an_older_export_is_refused_not_unpickled(scorecard_export,
                                                                          tmp_path):
    _, files, _, _ = scorecard_export
    legacy = tmp_path / PICKLED_SCORECARD_FILE
    legacy.write_bytes(b"cos\nsystem\n(S'echo unpickled'\ntR.")       # would run a command
    with pytest.raises(FileNotFoundError, match="not loaded: unpickling runs whatever code.*"
                                                "Retrain the scorecard and register"):
        served_from({**files, "estimator": str(legacy)})


@pytest.mark.parametrize("column,value,rule", [
    ("days_late", 1e308, "must lie in the accepted range [0, "),
    ("days_late", -1e9, "must lie in the accepted range [0, "),
    ("days_late", -0.5, "must lie in the accepted range [0, "),
    ("days_late", np.inf, "must be finite"),
    ("days_late", "ten", "must be a number"),
])
def test_implausible_values_are_a_bad_request_naming_column_rule_and_rows(
        scorecard_export, column, value, rule):
    _, files, path, rows = scorecard_export
    model = mlflow.pyfunc.load_model(str(path))
    bad = rows.head(8).astype({column: object})
    bad.loc[bad.index[[2, 5]], column] = value
    with pytest.raises(MlflowException) as raised:
        (served_from(files).predict(None, bad) if isinstance(value, str)
         else model.predict(bad.astype({column: "float64"})))
    message = raised.value.message
    assert raised.value.get_http_status_code() == 400
    assert f"[scoring input.{column}] {rule}" in message and "2 row(s)" in message
    assert "row_position" in message and "Traceback" not in message
    assert [line.split()[0] for line in message.splitlines()[-2:]] == ["2", "5"]


def test_a_customer_a_little_outside_the_training_range_is_scored(scorecard_export):
    _, files, path, rows = scorecard_export
    served = served_from(files)
    entry = next(item for item in served.contract_ if item["name"] == "days_late")
    low, high = entry["training_range"]
    assert low >= 0 and entry["accepted_range"] == [0.0, 2 * high]    # scale max(span, |max|)
    beyond = rows.head(3).assign(days_late=[0.0, high * 1.5, np.nan])
    scored = mlflow.pyfunc.load_model(str(path)).predict(beyond)
    assert scored["probability_of_default"].between(0, 1).all()


def test_an_empty_request_gets_an_empty_answer(scorecard_export):
    _, _, path, rows = scorecard_export
    scored = mlflow.pyfunc.load_model(str(path)).predict(rows.head(0))
    assert scored.empty and list(scored.columns) == list(OUTPUT_COLUMNS)
