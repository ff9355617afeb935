"""The PD model as a self-contained MLflow pyfunc: feature vector in, probability of default and
score points out.

The public schema holds plain numbers and strings; categories are fixed inside the model from the
training data (a category unseen in training becomes missing), so serving needs no pandas dtypes.
Every request is checked against the feature contract recorded at training time
(:mod:`credit_models.models.input_contract`: finite numbers within each feature's accepted range);
a broken rule is refused as a bad request (HTTP 400 from ``mlflow models serve``) naming the
column, the rule and the offending rows. Artifacts are portable data files, never pickles: the
booster in XGBoost's own format, the scorecard, the calibration and the contract as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
import xgboost as xgb
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from credit_models.errors import DataContractError
from credit_models.explain.exported_model import (
    BOOSTER_FILE,
    FEATURE_CONTRACT_FILE,
    PICKLED_SCORECARD_FILE,
    SCORECARD_FILE,
    SCORING_FILE,
    read_scorecard,
)
from credit_models.models.calibration import ProbabilityCalibrator
from credit_models.models.input_contract import feature_contract, public_inputs, typed_inputs
from credit_models.models.pd_model import PdModel
from credit_models.models.scorecard import ScorePoints
from credit_models.models.settings import ModelFamily

__all__ = [
    "BOOSTER_FILE", "FEATURE_CONTRACT_FILE", "OUTPUT_COLUMNS", "PICKLED_SCORECARD_FILE",
    "SCORECARD_FILE", "SCORING_FILE",
    "ProbabilityOfDefaultModel", "feature_contract", "public_inputs", "read_scorecard",
    "refused_as_bad_request", "typed_inputs", "validated_trees", "write_model_files",
]

OUTPUT_COLUMNS = ("probability_of_default", "score")


@contextmanager
def refused_as_bad_request() -> Iterator[None]:
    """Turn a request that breaks the input contract into the MLflow error the scoring server
    answers with HTTP 400 and the message alone (no stack trace in the response body)."""
    try:
        yield
    except DataContractError as error:
        raise MlflowException(str(error), error_code=INVALID_PARAMETER_VALUE) from None


def write_model_files(model: PdModel, contract: list[dict[str, Any]], folder: Path) -> dict[str, str]:
    """The pyfunc's artifacts for a fitted model, written into ``folder``; name → path."""
    if model.family == ModelFamily.xgboost:
        estimator_path = folder / BOOSTER_FILE
        validated_trees(model.estimator_).save_model(estimator_path)
    else:
        estimator_path = folder / SCORECARD_FILE
        estimator_path.write_text(json.dumps(model.estimator_.to_dict(), allow_nan=False))
    scoring = {
        "family": ModelFamily(model.family).value,
        "calibration": None if model.calibrator_ is None else model.calibrator_.to_dict(),
        "score": {"pdo": model.pdo, "base_score": model.base_score, "base_odds": model.base_odds},
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
            self.estimator_ = read_scorecard(context.artifacts["estimator"])
        self.calibrator_ = (None if scoring["calibration"] is None
                            else ProbabilityCalibrator.from_dict(scoring["calibration"]))
        self.score_points_ = ScorePoints(**scoring["score"])
        self.contract_ = json.loads(Path(context.artifacts["feature_contract"]).read_text())

    def predict(
        self, context: mlflow.pyfunc.PythonModelContext, model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        with refused_as_bad_request():
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

