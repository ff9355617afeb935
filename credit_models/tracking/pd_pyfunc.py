"""The PD model as a self-contained MLflow pyfunc: feature vector in, probability of default and
score points out.

The public schema holds plain numbers and strings; categories are fixed inside the model from the
training data (a category unseen in training becomes missing), so serving needs no pandas dtypes.
Artifacts are portable files (XGBoost's own format, JSON), except the scorecard, which is a
scikit-learn estimator (its points table and SQL are logged beside it for non-Python use).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
import xgboost as xgb

from credit_models.models.calibration import ProbabilityCalibrator
from credit_models.models.pd_model import ModelFamily, PdModel
from credit_models.models.scorecard import ScorePoints

FEATURE_CONTRACT_FILE = "feature_contract.json"
BOOSTER_FILE = "booster.ubj"
SCORECARD_FILE = "scorecard.pkl"
SCORING_FILE = "scoring.json"
OUTPUT_COLUMNS = ("probability_of_default", "score")


def feature_contract(
    inputs: pd.DataFrame, descriptions: dict[str, str]
) -> list[dict[str, Any]]:
    """Name, type, categories and meaning of every model input, in model order."""
    contract = []
    for name in inputs.columns:
        entry: dict[str, Any] = {"name": name, "description": descriptions.get(name, "")}
        dtype = inputs[name].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            entry.update(type="string", categories=[str(c) for c in dtype.categories])
        else:
            entry.update(type="double", categories=None)
        entry["missing"] = "null/NaN means the value is unknown or the window had no events"
        contract.append(entry)
    return contract


def public_inputs(inputs: pd.DataFrame) -> pd.DataFrame:
    """What a caller sends: categories as plain strings, numbers as float64."""
    return pd.DataFrame(
        {
            name: (inputs[name].astype("str").where(inputs[name].notna(), None)
                   if isinstance(inputs[name].dtype, pd.CategoricalDtype) else inputs[name])
            for name in inputs.columns
        },
        index=inputs.index,
    )


def write_model_files(model: PdModel, contract: list[dict[str, Any]], folder: Path) -> dict[str, str]:
    """The pyfunc's artifacts for a fitted model, written into ``folder``; name → path."""
    if model.family is ModelFamily.xgboost:
        estimator_path = folder / BOOSTER_FILE
        validated_trees(model.estimator).save_model(estimator_path)
    else:
        estimator_path = folder / SCORECARD_FILE
        estimator_path.write_bytes(pickle.dumps(model.estimator))
    scoring = {
        "family": model.family.value,
        "calibration": None if model.calibrator is None else model.calibrator.to_dict(),
        "score": dict(model.settings.score),
    }
    (folder / SCORING_FILE).write_text(json.dumps(scoring, indent=2))
    (folder / FEATURE_CONTRACT_FILE).write_text(json.dumps(contract, indent=2, ensure_ascii=False))
    return {"estimator": str(estimator_path), "scoring": str(folder / SCORING_FILE),
            "feature_contract": str(folder / FEATURE_CONTRACT_FILE)}


def validated_trees(estimator: xgb.XGBClassifier) -> xgb.Booster:
    """The booster cut at early stopping's best iteration: the trees every metric, the
    calibration and the report were computed with (``predict_proba`` stops there too); the trees
    grown after it were never validated and must not be served."""
    booster = estimator.get_booster()
    best = getattr(estimator, "best_iteration", None)
    if best is None or best + 1 >= booster.num_boosted_rounds():
        return booster
    return booster[: best + 1]


class ProbabilityOfDefaultModel(mlflow.pyfunc.PythonModel):
    """Scores a feature frame: the model's probability, calibrated, and its score points."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        scoring = json.loads(Path(context.artifacts["scoring"]).read_text())
        self.family_ = ModelFamily(scoring["family"])
        if self.family_ is ModelFamily.xgboost:
            self.estimator_ = xgb.Booster()
            self.estimator_.load_model(context.artifacts["estimator"])
        else:
            self.estimator_ = pickle.loads(Path(context.artifacts["estimator"]).read_bytes())
        self.calibrator_ = (None if scoring["calibration"] is None
                            else ProbabilityCalibrator.from_dict(scoring["calibration"]))
        self.score_points_ = ScorePoints(**scoring["score"])
        self.contract_ = json.loads(Path(context.artifacts["feature_contract"]).read_text())

    def predict(
        self, context: mlflow.pyfunc.PythonModelContext, model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        inputs = typed_inputs(self.contract_, model_input)
        if self.family_ is ModelFamily.xgboost:
            raw = self.estimator_.predict(xgb.DMatrix(inputs, enable_categorical=True))
        else:
            raw = self.estimator_.predict_proba(inputs)[:, 1]
        probability = raw if self.calibrator_ is None else self.calibrator_.transform(raw)
        return pd.DataFrame({
            "probability_of_default": np.asarray(probability, dtype=np.float64),
            "score": self.score_points_.probability_to_points(probability),
        }, index=model_input.index)


def typed_inputs(contract: list[dict[str, Any]], frame: pd.DataFrame) -> pd.DataFrame:
    """The caller's frame in model order and dtypes; missing features are an error naming them."""
    names = [entry["name"] for entry in contract]
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise ValueError(
            f"scoring data lack {len(missing)} model feature(s): {missing[:10]}"
            + (" …" if len(missing) > 10 else "")
        )
    typed = {}
    for entry in contract:
        values = frame[entry["name"]]
        if entry["categories"] is not None:
            typed[entry["name"]] = pd.Categorical(
                values.astype("str").where(values.notna(), None), categories=entry["categories"]
            )
        else:
            typed[entry["name"]] = pd.to_numeric(values, errors="raise").astype("float64")
    return pd.DataFrame(typed, index=frame.index)     # already the model's dtypes, in order
