"""The XGBoost default (PD) model: gradient-boosted trees with early stopping on the validation
period and native categorical splits."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from credit_models.errors import ConfigError
from credit_models.models.param_checks import param_problems

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 10.0
"""Seconds between the fit's progress lines."""

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

PARAM_TYPES: dict[str, Any] = {
    "n_estimators": int, "max_depth": int | None, "max_leaves": int | None,
    "max_bin": int | None, "n_jobs": int | None, "verbosity": int | None,
    "num_parallel_tree": int | None, "max_cat_to_onehot": int | None,
    "max_cat_threshold": int | None,
    "learning_rate": float | None, "min_child_weight": float | None, "subsample": float | None,
    "colsample_bytree": float | None, "colsample_bylevel": float | None,
    "colsample_bynode": float | None, "reg_lambda": float | None, "reg_alpha": float | None,
    "gamma": float | None, "scale_pos_weight": float | None, "max_delta_step": float | None,
    "base_score": float | None,
    "tree_method": str | None, "booster": str | None, "objective": str | None,
    "grow_policy": str | None, "device": str | None, "sampling_method": str | None,
    "importance_type": str | None, "validate_parameters": bool | None,
}
"""The type of each plain XGBoost parameter (others, such as ``eval_metric`` or
``callbacks``, are left to XGBoost)."""

SET_ELSEWHERE: dict[str, str] = {
    "early_stopping_rounds": "model.early_stopping_rounds",
    "random_state": "seed",
    "enable_categorical": "the model (always true: native categorical splits)",
}
"""Parameters the model sets from other keys: a second value would clash at fit time."""


def check_params(params: Mapping[str, Any]) -> None:
    """Refuse ``model.params`` XGBoost would reject (or silently misuse) only at fit time, after
    the data are read and the features built: a name it does not know (with the close names), a
    wrong type or a value out of range; every broken one is named with its rule, on one line."""
    params = dict(params)
    problems = param_problems(params, sorted(xgb.XGBClassifier().get_params()), PARAM_TYPES,
                              SET_ELSEWHERE, "xgboost.XGBClassifier")
    named = {problem.split(" ", 1)[0] for problem in problems}
    for key, (low, high, low_allowed) in PARAM_RULES.items():
        value = params.get(key)
        if value is None or f"model.params.{key}" in named:
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


class TreeProgress(xgb.callback.TrainingCallback):
    """Log lines while the trees grow (a fit on a large portfolio takes minutes): every
    :data:`PROGRESS_EVERY` seconds, the trees grown, their rate, and the latest validation
    metric when there is one."""

    def __init__(self, planned: int, rows: int) -> None:
        super().__init__()
        self.planned, self.rows = planned, rows

    def before_training(self, model: xgb.Booster) -> xgb.Booster:
        self.started = self.reported = time.perf_counter()
        return model

    def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict) -> bool:
        now = time.perf_counter()
        if now - self.reported >= PROGRESS_EVERY:
            self.reported = now
            latest = [f"{data} {name} {values[-1]:.4f}" for data, metrics in evals_log.items()
                      for name, values in metrics.items() if values]
            logger.info("XGBoost: %d of at most %d trees on %s rows (%.1f trees/s)%s",
                        epoch + 1, self.planned, f"{self.rows:,}",
                        (epoch + 1) / (now - self.started),
                        f", {latest[-1]}" if latest else "")
        return False


XgbFitter = Callable[
    [xgb.XGBClassifier, pd.DataFrame, np.ndarray, tuple[pd.DataFrame, np.ndarray] | None],
    xgb.XGBClassifier,
]
"""Fits an unfitted classifier's configuration on (development, labels, validation) and returns
a fitted ``XGBClassifier`` of that configuration: how the trees are grown elsewhere (a cluster)."""

_FITTER: ContextVar[XgbFitter | None] = ContextVar("xgb_pd_fitter", default=None)


@contextmanager
def trees_grown_by(fitter: XgbFitter) -> Iterator[None]:
    """Inside the block every XGBoost PD fit (early stopping, refit, cross-validation folds)
    grows its trees with ``fitter``; calibration and everything else stay as they are."""
    token = _FITTER.set(fitter)
    try:
        yield
    finally:
        _FITTER.reset(token)


def fit_xgb_pd(
    development: pd.DataFrame,
    development_is_bad: np.ndarray,
    validation: tuple[pd.DataFrame, np.ndarray] | None,
    params: Mapping[str, Any],
    early_stopping_rounds: int | None,
    seed: int | None,
) -> xgb.XGBClassifier:
    """Fit on the development period (labels 0/1), stopping when validation AUC stops improving;
    without ``validation``, every tree of ``n_estimators`` is grown."""
    merged = {**DEFAULT_PARAMS, **dict(params)}
    callbacks = [*(merged.pop("callbacks", None) or []),
                 TreeProgress(int(merged["n_estimators"]), len(development))]
    model = xgb.XGBClassifier(
        **merged,
        enable_categorical=True,
        early_stopping_rounds=None if validation is None else early_stopping_rounds,
        random_state=seed,
        callbacks=callbacks,
    )
    fitter = _FITTER.get()
    if fitter is not None:
        model.set_params(callbacks=None)     # progress is the fitter's to report
        validation = None if validation is None else (validation[0],
                                                      validation[1].astype(np.int8))
        return fitter(model, development, development_is_bad.astype(np.int8), validation)
    model.fit(
        development,
        development_is_bad.astype(np.int8),
        eval_set=None if validation is None else [(validation[0],
                                                   validation[1].astype(np.int8))],
        verbose=False,
    )
    return model
