"""SHAP contributions of tree models, from XGBoost's exact TreeSHAP (``pred_contribs``).

Each row's contributions plus the bias add up to the model's margin (log-odds), which is what
makes them usable as per-customer reasons and as a global importance.
"""

from __future__ import annotations

import pandas as pd
import xgboost as xgb

BIAS_COLUMN = "__bias__"


def shap_contributions(booster: xgb.Booster, inputs: pd.DataFrame) -> pd.DataFrame:
    """Per-row SHAP values in log-odds, one column per feature plus ``__bias__``."""
    matrix = xgb.DMatrix(inputs, enable_categorical=True)
    values = booster.predict(matrix, pred_contribs=True)
    return pd.DataFrame(values, index=inputs.index, columns=[*inputs.columns, BIAS_COLUMN])


def mean_absolute_shap(contributions: pd.DataFrame) -> pd.Series:
    """Global importance: the average size of each feature's push on the log-odds."""
    return (
        contributions.drop(columns=[BIAS_COLUMN]).abs().mean().sort_values(ascending=False)
        .rename("mean_abs_shap")
    )
