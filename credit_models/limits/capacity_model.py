"""The capacity model: the conditional quantiles (by default the median and the 90th percentile)
of a customer's peak monthly demand, from one multi-quantile XGBoost model.

One booster fits every quantile (``reg:quantileerror`` with a vector ``quantile_alpha``), on
``log1p(target)`` by default: a quantile commutes with a monotone transform, so back-transforming
with ``expm1`` gives the quantiles of the target itself, while the log tames the heavy right
tail of spend. Predicted quantiles are made non-crossing (each at least the one below it).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import Tags
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from credit_models.errors import ConfigError, TrainingDataError
from credit_models.features.binning import feature_frame
from credit_models.limits.capacity_metrics import median_level, quantile_column
from credit_models.models.xgb_pd import model_inputs

BOOSTER_FILE = "capacity_booster.ubj"
METADATA_FILE = "capacity.json"

DEFAULT_PARAMS: dict[str, Any] = {
    "n_estimators": 400,
    "learning_rate": 0.05,
    "max_depth": 4,
    "min_child_weight": 10.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "tree_method": "hist",
}

RESERVED_PARAMS = frozenset({
    "objective", "quantile_alpha", "enable_categorical", "early_stopping_rounds",
    "random_state", "seed", "n_jobs", "nthread",
})
"""Set by the model itself (or through its own arguments), never through ``params``."""

@dataclass(frozen=True)
class CapacitySettings:
    """``conf/capacity/*.yaml``, checked when built."""

    name: str = "xgb_quantile"
    quantiles: list[float] = field(default_factory=lambda: [0.5, 0.9])
    """Strictly increasing levels in (0, 1); columns ``capacity_q50``, ``capacity_q90``, …
    (held as a tuple once built)."""
    params: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PARAMS))
    """XGBoost (scikit-learn API) parameters; the YAML's are merged over ``DEFAULT_PARAMS``."""
    early_stopping_rounds: int = 30
    log_target: bool = True
    """Fit on ``log1p(target)`` and back-transform the quantiles with ``expm1``."""

    def __post_init__(self) -> None:
        quantiles = tuple(float(q) for q in self.quantiles)
        object.__setattr__(self, "quantiles", quantiles)
        if not quantiles:
            raise ConfigError("capacity.quantiles must name at least one level; got []")
        if any(not 0.0 < q < 1.0 for q in quantiles):
            raise ConfigError(f"capacity.quantiles must lie in (0, 1); got {list(quantiles)}")
        if any(b <= a for a, b in itertools.pairwise(quantiles)):
            raise ConfigError(
                f"capacity.quantiles must be strictly increasing; got {list(quantiles)}")
        names = [quantile_column(q) for q in quantiles]
        if len(set(names)) != len(names):
            raise ConfigError(f"capacity.quantiles must differ in whole percent (columns "
                              f"{names}); got {list(quantiles)}")
        reserved = sorted(RESERVED_PARAMS & set(self.params))
        if reserved:
            raise ConfigError(f"capacity.params must not set {reserved}: the capacity model sets "
                              f"them itself (quantiles, random_state, n_jobs, "
                              f"early_stopping_rounds are its own settings)")
        if int(self.early_stopping_rounds) < 1:
            raise ConfigError(f"capacity.early_stopping_rounds must be >= 1; got "
                              f"{self.early_stopping_rounds}")


def _numbers_unless_frame(X: Any) -> Any:
    """A DataFrame as it is (its categories are the model's); anything else as numbers."""
    if isinstance(X, pd.DataFrame):
        return X
    return check_array(X, dtype="float64", ensure_all_finite="allow-nan", ensure_min_samples=0)


def _check_target(y: pd.Series | np.ndarray, what: str) -> None:
    values = y if isinstance(y, pd.Series) else pd.Series(column_or_1d(y, warn=True))
    bad = values.isna() | (values < 0)
    if bad.any():
        examples = values[bad].head(5)
        shown = ", ".join(f"{index!r}: {value}" for index, value in examples.items())
        raise TrainingDataError(
            f"capacity model: {int(bad.sum())} {what} row(s) have a missing or negative target "
            f"(e.g. row {shown}); drop rows whose target window is incomplete before fitting"
        )


class CapacityModel(RegressorMixin, BaseEstimator):
    """Multi-quantile XGBoost regression of the capacity target (a scikit-learn regressor whose
    ``predict`` is the median; ``score`` is R² of the median, as for any regressor).

    Fitted attributes: ``booster_`` (cut at early stopping's best iteration), ``feature_names_``
    (the columns it reads: a DataFrame's, or ``x0, x1, …`` for an array), ``feature_dtypes_``
    (``float64`` or the training categories of each feature), ``quantiles_``,
    ``best_iteration_``, ``log_target_``, ``n_features_in_`` and ``feature_names_in_`` (when
    fitted on a DataFrame).
    """

    def __init__(self, settings: CapacitySettings | None = None, random_state: int = 0,
                 n_jobs: int = 1) -> None:
        self.settings = settings
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: pd.Series,
            eval_set: tuple[pd.DataFrame, pd.Series] | None = None) -> CapacityModel:
        settings = self.settings if self.settings is not None else CapacitySettings()
        if len(X) == 0:      # a data problem of the job (exit 1), not a traceback
            raise TrainingDataError("capacity model: no training rows (0 sample(s) given)")
        X = feature_frame(self, _numbers_unless_frame(X), reset=True)
        if y is None:
            raise ValueError("the capacity model requires y to be passed, but the target y is "
                             "None")
        y = y if isinstance(y, pd.Series) else pd.Series(column_or_1d(y, warn=True))
        if len(X) != len(y):
            raise TrainingDataError(f"capacity model: {len(X)} feature rows but {len(y)} targets")
        _check_target(y, "training")
        feature_names = [str(name) for name in X.columns]
        inputs = model_inputs(X, feature_names)
        dtypes = _feature_dtypes(inputs)
        fit_kwargs: dict[str, Any] = {"verbose": False}
        early_stopping = None
        if eval_set is not None:
            eval_X, eval_y = eval_set
            _check_target(eval_y, "evaluation")
            eval_inputs = _typed(self._frame(eval_X), feature_names, dtypes)
            fit_kwargs["eval_set"] = [(eval_inputs, self._transform(eval_y, settings))]
            early_stopping = settings.early_stopping_rounds
        regressor = xgb.XGBRegressor(
            **dict(settings.params),
            objective="reg:quantileerror",
            quantile_alpha=np.asarray(settings.quantiles),
            enable_categorical=True,
            early_stopping_rounds=early_stopping,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )
        regressor.fit(inputs, self._transform(y, settings), **fit_kwargs)
        booster = regressor.get_booster()
        best = getattr(regressor, "best_iteration", None) if eval_set is not None else None
        rounds = booster.num_boosted_rounds()
        self.best_iteration_ = int(best) if best is not None else rounds - 1
        # the trees grown after the best iteration were never validated: not kept
        self.booster_ = (booster if self.best_iteration_ + 1 >= rounds
                         else booster[: self.best_iteration_ + 1])
        self.feature_names_ = feature_names
        self.feature_dtypes_ = dtypes
        self.quantiles_ = tuple(settings.quantiles)
        self.log_target_ = bool(settings.log_target)
        return self

    def _frame(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """A DataFrame as given (:func:`_typed` names the features it lacks); an array as the
        fitted columns, by position."""
        if isinstance(X, pd.DataFrame):
            return X
        return feature_frame(self, _numbers_unless_frame(X), reset=False)

    @staticmethod
    def _transform(y: pd.Series, settings: CapacitySettings) -> np.ndarray:
        values = np.asarray(y, dtype="float64").reshape(-1)     # a column vector as 1-D
        return np.log1p(values) if settings.log_target else values

    def predict_quantiles(self, X: pd.DataFrame) -> pd.DataFrame:
        """One column per quantile (``capacity_q50``, ``capacity_q90``, …) on the target's scale,
        at least 0 and non-decreasing across the levels; indexed like ``X``."""
        check_is_fitted(self, "booster_")
        X = self._frame(X)
        inputs = _typed(X, self.feature_names_, self.feature_dtypes_)
        raw = self.booster_.predict(xgb.DMatrix(inputs, enable_categorical=True,
                                                nthread=self.n_jobs))
        raw = np.asarray(raw, dtype="float64").reshape(len(inputs), len(self.quantiles_))
        values = np.expm1(raw) if self.log_target_ else raw
        values = np.maximum.accumulate(np.clip(values, 0.0, None), axis=1)
        return pd.DataFrame(values, index=X.index,
                            columns=[quantile_column(q) for q in self.quantiles_])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The median (the fitted quantile closest to 0.5)."""
        check_is_fitted(self, "booster_")
        column = quantile_column(median_level(self.quantiles_))
        return self.predict_quantiles(X)[column].to_numpy()

    def save(self, folder: Path) -> None:
        """The booster as UBJSON plus a JSON description; no pickle."""
        check_is_fitted(self, "booster_")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.booster_.save_model(folder / BOOSTER_FILE)
        settings = self.settings if self.settings is not None else CapacitySettings()
        metadata = {
            "quantiles": list(self.quantiles_),
            "log_target": self.log_target_,
            "feature_names": self.feature_names_,
            "feature_dtypes": self.feature_dtypes_,
            "best_iteration": self.best_iteration_,
            "params": _jsonable(dict(settings.params)),
            "early_stopping_rounds": settings.early_stopping_rounds,
            "random_state": self.random_state,
        }
        (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path) -> CapacityModel:
        folder = Path(folder)
        metadata = json.loads((folder / METADATA_FILE).read_text())
        settings = CapacitySettings(
            quantiles=tuple(metadata["quantiles"]), params=metadata["params"],
            early_stopping_rounds=metadata["early_stopping_rounds"],
            log_target=metadata["log_target"],
        )
        model = cls(settings=settings, random_state=metadata["random_state"])
        booster = xgb.Booster()
        booster.load_model(folder / BOOSTER_FILE)
        model.booster_ = booster
        model.feature_names_ = list(metadata["feature_names"])
        model.feature_dtypes_ = dict(metadata["feature_dtypes"])
        model.quantiles_ = tuple(float(q) for q in metadata["quantiles"])
        model.best_iteration_ = int(metadata["best_iteration"])
        model.log_target_ = bool(metadata["log_target"])
        model.n_features_in_ = len(model.feature_names_)
        model.feature_names_in_ = np.asarray(model.feature_names_, dtype=object)
        return model

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.target_tags.required = True
        tags.target_tags.positive_only = True      # demand: spend is never negative
        return tags


def _feature_dtypes(inputs: pd.DataFrame) -> dict[str, Any]:
    """Per feature ``"float64"`` or ``{"categories": [...]}`` (the training categories)."""
    return {
        name: ({"categories": inputs[name].cat.categories.tolist()}
               if isinstance(inputs[name].dtype, pd.CategoricalDtype) else "float64")
        for name in inputs.columns
    }


def _typed(X: pd.DataFrame, feature_names: list[str], dtypes: Mapping[str, Any]) -> pd.DataFrame:
    """``X`` as the model saw its training data: the features in training order, numbers as
    float64, categories coded against the training categories (an unseen one is missing)."""
    absent = [name for name in feature_names if name not in X.columns]
    if absent:
        raise ValueError(f"capacity model: the input lacks {len(absent)} feature(s) the model "
                         f"was fitted on: {absent[:10]}" + (" …" if len(absent) > 10 else ""))
    inputs = model_inputs(X, feature_names)
    for name, dtype in dtypes.items():
        if isinstance(dtype, Mapping):
            values = inputs[name]
            inputs[name] = pd.Categorical(values.astype(object).where(values.notna(), None),
                                          categories=dtype["categories"])
        elif isinstance(inputs[name].dtype, pd.CategoricalDtype):
            raise TypeError(f"capacity model: feature {name!r} was numeric in training but is "
                            f"text now")
    return inputs


def _jsonable(params: Mapping[str, Any]) -> dict[str, Any]:
    return {key: (value.item() if isinstance(value, np.generic) else value)
            for key, value in params.items()}
