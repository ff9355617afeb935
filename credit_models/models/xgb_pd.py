"""The XGBoost default (PD) model: gradient-boosted trees with early stopping on the validation
period and native categorical splits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

DEFAULT_PARAMS: dict[str, Any] = {
    "n_estimators": 600,
    "learning_rate": 0.05,
    "max_depth": 4,
    "min_child_weight": 5.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "tree_method": "hist",
    "eval_metric": "auc",
}


def model_inputs(features: pd.DataFrame, feature_names: list[str]) -> pd.DataFrame:
    """The model's input frame: numbers as float64 (missing stays NaN), text as categories."""
    columns = {}
    for name in feature_names:
        values = features[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            columns[name] = values
        elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            columns[name] = values.astype("float64")
        else:
            columns[name] = values.astype("category")
    return pd.DataFrame(columns, index=features.index)


def fit_xgb_pd(
    development: pd.DataFrame,
    development_is_bad: pd.Series,
    validation: pd.DataFrame,
    validation_is_bad: pd.Series,
    params: Mapping[str, Any],
    early_stopping_rounds: int,
    seed: int,
) -> xgb.XGBClassifier:
    """Fit on the development period, stopping when validation AUC stops improving."""
    model = xgb.XGBClassifier(
        **{**DEFAULT_PARAMS, **dict(params)},
        enable_categorical=True,
        early_stopping_rounds=early_stopping_rounds,
        random_state=seed,
    )
    model.fit(
        development,
        development_is_bad.astype(np.int8),
        eval_set=[(validation, validation_is_bad.astype(np.int8))],
        verbose=False,
    )
    return model
