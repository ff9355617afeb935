"""The XGBoost default (PD) model: gradient-boosted trees with early stopping on the validation
period, native categorical splits, and an explicit check that the data can support training."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from credit_models.errors import TrainingDataError

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


def check_trainable(is_bad: pd.Series, split: pd.Series) -> None:
    """Refuse to train on data that cannot give a sound model, naming the period and counts."""
    problems = []
    for name in ("dev", "valid", "oot"):
        part = is_bad[split == name]
        bads = int(part.sum())
        if len(part) == 0:
            problems.append(f"the {name} period is empty")
        elif bads == 0 or bads == len(part):
            problems.append(
                f"the {name} period has {len(part)} rows and {bads} bads: both classes are needed"
            )
    if problems:
        raise TrainingDataError("cannot train the PD model: " + "; ".join(problems))


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
    all_missing = [name for name in development.columns if development[name].isna().all()]
    if len(all_missing) == development.shape[1]:
        raise TrainingDataError("every feature is missing in the development period")
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
