"""Per-row contributions of a PD model, in log-odds of bad, for either model family.

Each row's contributions plus the base value add up to the model's margin: the log-odds of its
raw (uncalibrated) probability. That is what makes them usable as per-customer reasons and, averaged
in absolute value, as a global importance.

* **XGBoost**: TreeSHAP (path-dependent, exact for the trees), by XGBoost's own
  ``Booster.predict(pred_contribs=True)`` or by ``shap.TreeExplainer``. For an XGBoost model
  without background data, ``shap.TreeExplainer`` hands the work to the same XGBoost routine, so
  the two agree to the last bit and differ only in overhead; :data:`FASTEST_XGBOOST_METHOD` is the
  one ``method="auto"`` uses (measured by ``benchmarks/explain_speed.py``). Both read native
  categorical splits and monotone constraints. shap's own tree walker (:func:`independent_tree_shap`)
  is a separate implementation, kept as a cross-check for numeric models: it reads categorical
  splits as numeric thresholds and so is wrong for them.
* **WoE scorecard**: the model is additive already: ``log-odds = intercept + Σ coef · WoE``, so
  each feature's contribution is ``coef · WoE`` (its points turned back into log-odds) and the base
  value is the intercept. 0 means "as the average customer" (WoE 0).

An XGBoost model stopped early keeps the trees it grew after its best iteration; the scikit-learn
wrapper predicts with the trees up to ``best_iteration`` and so do the contributions here (the
booster carries ``best_iteration`` as an attribute, also after a save and reload).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xgboost as xgb

from credit_models.models.scorecard import WoeScorecard

if TYPE_CHECKING:
    from credit_models.models.pd_model import PdModel

BIAS_COLUMN = "__bias__"


class ContributionMethod(str, Enum):
    auto = "auto"
    """XGBoost: :data:`FASTEST_XGBOOST_METHOD`; scorecard: its exact additive contributions."""
    pred_contribs = "pred_contribs"
    """XGBoost's ``Booster.predict(pred_contribs=True)``."""
    shap = "shap"
    """``shap.TreeExplainer`` (path-dependent)."""


FASTEST_XGBOOST_METHOD = ContributionMethod.pred_contribs
"""On 100,000 rows x 100 features of a 600-tree depth-4 model (benchmarks/explain_speed.py),
``pred_contribs`` is at least as fast as ``shap.TreeExplainer`` on one thread, which itself calls
``pred_contribs`` after parsing the model, and it uses every thread it is given."""


@dataclass(frozen=True)
class Contributions:
    """Per-row contributions (rows of the input, one column per model feature) in log-odds of
    bad, and the base value they start from: ``base_value + values.sum(axis=1)`` is the margin."""

    values: pd.DataFrame
    base_value: float
    method: str

    def margin(self) -> pd.Series:
        """Log-odds of the raw probability, rebuilt from the contributions."""
        return (self.base_value + self.values.sum(axis=1)).rename("margin")

    def with_bias(self) -> pd.DataFrame:
        """The values plus a constant ``__bias__`` column (the layout of :func:`shap_contributions`)."""
        return self.values.assign(**{BIAS_COLUMN: self.base_value})


def tree_range(booster: xgb.Booster) -> tuple[int, int]:
    """The trees a prediction uses: up to ``best_iteration`` when training stopped early, as the
    scikit-learn wrapper predicts; otherwise all (``(0, 0)``)."""
    best = booster.attr("best_iteration")
    return (0, int(best) + 1) if best is not None else (0, 0)


def _booster(model: Any) -> xgb.Booster:
    return model if isinstance(model, xgb.Booster) else model.get_booster()


def _with_threads(booster: xgb.Booster, n_threads: int | None) -> xgb.Booster:
    if n_threads is None:
        return booster
    copy = booster.copy()             # the caller's booster keeps its own thread setting
    copy.set_param({"nthread": int(n_threads)})
    return copy


def _matrix(inputs: pd.DataFrame, booster: xgb.Booster) -> xgb.DMatrix:
    names = booster.feature_names
    if names is not None:
        missing = [name for name in names if name not in inputs.columns]
        if missing:
            raise ValueError(
                f"the inputs lack {len(missing)} of the model's features: {missing[:10]}"
                + (" …" if len(missing) > 10 else "")
            )
        inputs = inputs[names]
    return xgb.DMatrix(inputs, enable_categorical=True)


def xgboost_contributions(
    model: xgb.Booster | xgb.XGBClassifier, inputs: pd.DataFrame, *, n_threads: int | None = None
) -> Contributions:
    """TreeSHAP by XGBoost (``pred_contribs``); ``n_threads`` None = the booster's setting."""
    booster = _booster(model)
    matrix = _matrix(inputs, booster)
    columns = list(matrix.feature_names)
    values = _with_threads(booster, n_threads).predict(
        matrix, pred_contribs=True, iteration_range=tree_range(booster)
    ).reshape(matrix.num_row(), len(columns) + 1)   # XGBoost flattens a 0-row result to 1-D
    frame = pd.DataFrame(values[:, :-1], index=inputs.index, columns=columns)
    base = float(values[0, -1]) if len(values) else _empty_base(booster)
    return Contributions(frame, base, ContributionMethod.pred_contribs.value)


def tree_shap_contributions(
    model: xgb.Booster | xgb.XGBClassifier, inputs: pd.DataFrame
) -> Contributions:
    """TreeSHAP by ``shap.TreeExplainer`` (path-dependent: no background data, which its
    interventional mode would need and which fails on categorical features).

    The input goes in as a DMatrix with categories enabled: given a DataFrame with categorical
    columns and a bare Booster, shap builds a DMatrix without them and XGBoost refuses it."""
    import shap  # a heavy import (numba): only when this method is asked for

    booster = _booster(model)
    matrix = _matrix(inputs, booster)
    explainer = shap.TreeExplainer(booster, feature_perturbation="tree_path_dependent")
    values = np.asarray(explainer.shap_values(matrix, check_additivity=False))
    frame = pd.DataFrame(values, index=inputs.index, columns=list(matrix.feature_names))
    base = float(np.ravel(explainer.expected_value)[0])
    return Contributions(frame, base, ContributionMethod.shap.value)


def independent_tree_shap(
    model: xgb.Booster | xgb.XGBClassifier, inputs: pd.DataFrame
) -> Contributions:
    """shap's own TreeSHAP walker over its parsed copy of the trees, not XGBoost's code: a
    cross-check of :func:`xgboost_contributions` on numeric features. Refuses categorical
    features, whose set splits shap parses as thresholds. The base value is the mean margin minus
    the mean contribution sum (shap's ``expected_value`` leaves out the trees' mean here)."""
    import shap

    booster = _booster(model)
    categorical = [name for name, kind in zip(booster.feature_names or [],
                                              booster.feature_types or [], strict=False)
                   if kind == "c"]
    if categorical:
        raise ValueError(
            f"shap's own tree walker reads categorical splits as numeric thresholds; the model has "
            f"categorical features {categorical[:10]}: use xgboost_contributions"
        )
    names = booster.feature_names or list(inputs.columns)
    explainer = shap.TreeExplainer(booster, feature_perturbation="tree_path_dependent")
    explainer.model.model_type = "internal"       # skip the hand-over to XGBoost's pred_contribs
    values = np.asarray(explainer.shap_values(inputs[names].to_numpy(dtype="float64"),
                                              check_additivity=False))
    frame = pd.DataFrame(values, index=inputs.index, columns=names)
    margin = booster.predict(_matrix(inputs, booster), output_margin=True,
                             iteration_range=tree_range(booster))
    base = float(np.mean(margin - values.sum(axis=1))) if len(values) else 0.0
    return Contributions(frame, base, "shap_internal")


def scorecard_contributions(scorecard: WoeScorecard, inputs: pd.DataFrame) -> Contributions:
    """``coef · WoE`` per scorecard feature (its points in log-odds), base value the intercept.

    Only the scorecard's own features (``features_``) are columns: the others have no effect."""
    points = scorecard.points_by_feature(inputs)
    values = -points / scorecard.score_points_.factor
    return Contributions(values.astype("float64"), float(scorecard.intercept_), "scorecard")


def model_contributions(
    model: PdModel | xgb.XGBClassifier | xgb.Booster | WoeScorecard,
    inputs: pd.DataFrame,
    *,
    method: ContributionMethod | str = ContributionMethod.auto,
    n_threads: int | None = None,
) -> Contributions:
    """Contributions and base value in log-odds for any PD model (a :class:`PdModel`, or its
    estimator: an XGBoost classifier or booster, or a WoE scorecard).

    ``method``: ``auto`` (the fastest exact method of the family), ``pred_contribs`` or ``shap``
    (XGBoost only)."""
    method = _method(method)
    estimator, frame = _estimator_and_inputs(model, inputs)
    if isinstance(estimator, WoeScorecard):
        if method not in (ContributionMethod.auto,):
            raise ValueError(
                f"method {method.value!r} applies to XGBoost models; a scorecard's contributions "
                f"are exact (method 'auto')"
            )
        return scorecard_contributions(estimator, frame)
    if not isinstance(estimator, xgb.XGBClassifier | xgb.Booster):
        raise TypeError(
            f"cannot explain a {type(estimator).__name__}: expected an XGBoost classifier or "
            f"booster, or a WoeScorecard"
        )
    if method is ContributionMethod.auto:
        method = FASTEST_XGBOOST_METHOD
    if method is ContributionMethod.shap:
        return tree_shap_contributions(estimator, frame)
    return xgboost_contributions(estimator, frame, n_threads=n_threads)


def model_margin(
    model: PdModel | xgb.XGBClassifier | xgb.Booster | WoeScorecard, inputs: pd.DataFrame
) -> np.ndarray:
    """Log-odds of bad of the model's raw (uncalibrated) probability, computed by the model
    itself: what the contributions add up to."""
    estimator, frame = _estimator_and_inputs(model, inputs)
    if isinstance(estimator, WoeScorecard):
        return np.asarray(estimator.decision_function(frame), dtype="float64")
    booster = _booster(estimator)
    return np.asarray(
        booster.predict(_matrix(frame, booster), output_margin=True,
                        iteration_range=tree_range(booster)),
        dtype="float64",
    )


def _estimator_and_inputs(model: Any, inputs: pd.DataFrame) -> tuple[Any, pd.DataFrame]:
    """The estimator explained (a :class:`PdModel`'s own) and the columns it reads."""
    estimator = getattr(model, "estimator_", model)
    if estimator is model or isinstance(estimator, WoeScorecard):
        return estimator, inputs      # a scorecard reads the features it selected, by name
    return estimator, inputs[list(model.feature_names_in_)]


def _method(method: ContributionMethod | str) -> ContributionMethod:
    value = method.value if isinstance(method, Enum) else method
    choices = [member.value for member in ContributionMethod]
    if value not in choices:
        raise ValueError(f"method must be one of {choices}; got {value!r}")
    return ContributionMethod(value)


def _empty_base(booster: xgb.Booster) -> float:
    """The base value when there are no rows: the contributions of one all-missing row."""
    row = xgb.DMatrix(np.full((1, booster.num_features()), np.nan),
                      feature_names=booster.feature_names, feature_types=booster.feature_types,
                      enable_categorical=True)
    return float(booster.predict(row, pred_contribs=True, iteration_range=tree_range(booster))[0, -1])


def shap_contributions(booster: xgb.Booster, inputs: pd.DataFrame) -> pd.DataFrame:
    """Per-row SHAP values in log-odds, one column per feature plus ``__bias__`` (XGBoost's
    ``pred_contribs``, trees up to the best iteration)."""
    return xgboost_contributions(booster, inputs).with_bias()


def mean_absolute_shap(contributions: pd.DataFrame | Contributions) -> pd.Series:
    """Global importance: the average size of each feature's push on the log-odds."""
    values = contributions.values if isinstance(contributions, Contributions) else (
        contributions.drop(columns=[BIAS_COLUMN], errors="ignore")
    )
    return values.abs().mean().sort_values(ascending=False, kind="stable").rename("mean_abs_shap")
