"""The PD model as a self-contained MLflow pyfunc: feature vector in, probability of default out.

The public schema holds plain numbers and strings; categories are fixed inside the model from the
training data (a category unseen in training becomes missing), so serving needs no pandas dtypes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
import xgboost as xgb

from credit_models.models.xgb_pd import model_inputs

FEATURE_CONTRACT_FILE = "feature_contract.json"
BOOSTER_FILE = "booster.ubj"


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


class ProbabilityOfDefaultModel(mlflow.pyfunc.PythonModel):
    """Scores a feature frame with the trained booster."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.booster_ = xgb.Booster()
        self.booster_.load_model(context.artifacts["booster"])
        self.contract_ = json.loads(Path(context.artifacts["feature_contract"]).read_text())

    def predict(
        self, context: mlflow.pyfunc.PythonModelContext, model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        return score_with_contract(self.booster_, self.contract_, model_input)


def score_with_contract(
    booster: xgb.Booster, contract: list[dict[str, Any]], frame: pd.DataFrame
) -> pd.DataFrame:
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
    inputs = model_inputs(pd.DataFrame(typed, index=frame.index), names)
    matrix = xgb.DMatrix(inputs, enable_categorical=True)
    probability = booster.predict(matrix)
    return pd.DataFrame({"probability_of_default": probability}, index=frame.index)
