"""The XGBoost default (PD) model: gradient-boosted trees with early stopping on the validation
period and native categorical splits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from credit_models.errors import ConfigError

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


PARAM_RULES: dict[str, tuple[float, float, bool]] = {
    "learning_rate": (0.0, 1.0, False),
    "n_estimators": (1.0, float("inf"), True),
    "max_depth": (0.0, float("inf"), True),
    "min_child_weight": (0.0, float("inf"), True),
    "subsample": (0.0, 1.0, False),
    "colsample_bytree": (0.0, 1.0, False),
    "reg_lambda": (0.0, float("inf"), True),
    "reg_alpha": (0.0, float("inf"), True),
    "gamma": (0.0, float("inf"), True),
}
"""``model.params`` key → (low, high, whether ``low`` itself is allowed); ``high`` is allowed."""


def check_params(params: Mapping[str, Any]) -> None:
    """Refuse hyper-parameters XGBoost would reject (or silently misuse) only at fit time, after
    the data are read and the features built: every broken one is named with its rule."""
    problems = []
    for key, (low, high, low_allowed) in PARAM_RULES.items():
        value = params.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"model.params.{key} must be a number; got {value!r}")
            continue
        above_low = value >= low if low_allowed else value > low
        if not (above_low and value <= high):
            opening = "[" if low_allowed else "("
            problems.append(f"model.params.{key} must be in {opening}{low:g}, {high:g}]; "
                            f"got {value!r}")
    if problems:
        raise ConfigError("; ".join(problems))


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
