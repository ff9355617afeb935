"""ONNX export of an XGBoost PD model, for serving stacks without Python.

The ONNX graph holds the trees only and outputs the raw (uncalibrated) probability; the
calibration map (``scoring.json``) and the feature contract travel beside it. The converter needs
feature names ``f0, f1, …``, so a copy of the booster is converted with its names removed and the
caller orders columns by the contract. Categorical features are sent as their category codes (the
position in the contract's category list, as float; unknown or missing = NaN), which is how XGBoost
itself sees them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pandas as pd
import xgboost as xgb
from onnxmltools import convert_xgboost
from onnxmltools.convert.common.data_types import FloatTensorType

INPUT_NAME = "features"
ONNX_OPSET = 15


def booster_to_onnx(booster: xgb.Booster, n_features: int) -> onnx.ModelProto:
    """The trees as an ONNX classifier (inputs: float32 matrix in contract order)."""
    anonymous = booster.copy()
    anonymous.feature_names = None
    return convert_xgboost(
        anonymous, initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
        target_opset=ONNX_OPSET,
    )


def onnx_input_matrix(frame: pd.DataFrame, contract: list[dict[str, Any]]) -> np.ndarray:
    """The float32 matrix an ONNX runtime receives: contract order, categories as codes."""
    columns = []
    for entry in contract:
        values = frame[entry["name"]]
        if entry["categories"] is not None:
            codes = pd.Categorical(values.astype("str").where(values.notna(), None),
                                   categories=entry["categories"]).codes.astype(np.float32)
            codes[codes < 0] = np.nan
            columns.append(codes)
        else:
            columns.append(pd.to_numeric(values, errors="raise").to_numpy(dtype=np.float32))
    return np.column_stack(columns) if columns else np.empty((len(frame), 0), np.float32)


def onnx_probability(model: onnx.ModelProto, matrix: np.ndarray) -> np.ndarray:
    """Probability of the bad class from an ONNX runtime session."""
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    outputs = session.run(None, {INPUT_NAME: matrix})
    probabilities = outputs[1]
    if isinstance(probabilities, list):     # a list of {class: probability} maps
        return np.array([row[1] for row in probabilities], dtype=np.float64)
    return np.asarray(probabilities, dtype=np.float64)[:, 1]


def onnx_parity(
    model: onnx.ModelProto, booster: xgb.Booster, frame: pd.DataFrame,
    contract: list[dict[str, Any]], typed: pd.DataFrame,
) -> float:
    """Largest |ONNX − XGBoost| raw probability over the rows of ``frame``."""
    native = booster.predict(xgb.DMatrix(typed, enable_categorical=True))
    exported = onnx_probability(model, onnx_input_matrix(frame, contract))
    return float(np.max(np.abs(native - exported))) if len(native) else 0.0
