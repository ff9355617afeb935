"""Probability calibration: map a PD model's raw probabilities to probabilities that mean what they
say, fitted on a held-out *calibration period* (rows the model never trained or early-stopped on).

A PD model's raw output is often miscalibrated: class weights, sampling, regularisation and drift
between the development and later periods all move it away from the observed bad rate. Two methods,
both monotone, so the ranking (AUC, Gini, KS) is kept:

* ``"isotonic"``: scikit-learn's :class:`~sklearn.isotonic.IsotonicRegression`, made strictly
  increasing: its fit is a staircase (every raw probability of a block gets the block's bad rate),
  which gave a quarter of a portfolio one score and cost AUC through the ties. The map used here
  passes through each block's bad rate at the block's mean raw probability and is linear between
  those points (beyond the outermost ones it moves a tenth of the way towards the floor or the
  ceiling), so distinct raw probabilities keep distinct, ordered PDs while every block's mean
  PD stays close to its bad rate. Flexible; needs a few thousand rows and a few hundred bads.
* ``"platt"``: ``sigmoid(slope · logit(p) + intercept)``, a logistic regression on the raw
  log-odds with one feature and (almost) no penalty. Two parameters: robust on small samples,
  keeps the ranking exactly, but cannot bend a miscalibration that is not linear in log-odds.
* ``"auto"``: whichever of the two has the lower log loss on held-out folds of the calibration
  sample (5-fold, stratified), then fitted on all of it: the data choose between flexibility
  and robustness, never the rows the choice is judged on.

Whatever the method, a fitted calibrator warns when one PD is shared by more than 5 % of the
calibration rows: a collapsed score cannot rank, price or set limits for those customers.

Serving needs no pickle: :meth:`ProbabilityCalibrator.to_dict` gives a JSON-safe dict and
:meth:`ProbabilityCalibrator.from_dict` rebuilds a calibrator whose ``transform`` is identical,
because a fitted calibrator and a rebuilt one apply the same numpy arithmetic to the same numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.utils import Tags
from sklearn.utils.validation import check_array, check_is_fitted

from credit_models.errors import ConfigError, TrainingDataError
from credit_models.evaluation.metrics import binary_labels

logger = logging.getLogger(__name__)

ISOTONIC, PLATT, AUTO = "isotonic", "platt", "auto"
FITTED_METHODS = (ISOTONIC, PLATT)
METHODS = (*FITTED_METHODS, AUTO)
AUTO_FOLDS = 5
"""``"auto"`` compares the methods by their log loss on held-out folds of the calibration
sample: in-sample, the more flexible isotonic map would always win."""
COLLAPSE_SHARE = 0.05
"""A calibrated PD shared by more than this share of the calibration rows is a collapse worth a
warning: those customers cannot be told apart by score, limit or decile."""
PROBABILITY_FLOOR = 1e-6
PROBABILITY_CEILING = 1.0 - PROBABILITY_FLOOR
"""Calibrated probabilities are clipped to [1e-6, 1 − 1e-6]: never a certain good or bad, so a
log loss or a log-odds downstream stays finite. Raw probabilities are clipped the same way before
their logit is taken (Platt)."""
PD_FLOOR = 3e-4
"""Default lowest calibrated PD: 3 basis points, the regulatory floor for retail PDs (Basel).
Isotonic regression on a finite sample gives its safest group an observed bad rate of 0; a PD of
1e-6 would then price and limit those customers as if they could not default."""
TAIL_SHARE = 0.1
"""Isotonic: beyond the outermost block centres the map keeps rising (or falling), so the order
of raw scores is kept, but only a tenth of the way to the ceiling (or floor): extrapolating the
last segment instead gave the riskiest OOT rows PDs near 100 % that no calibration block
showed."""
PLATT_C = 1e6
"""Inverse regularisation strength of the Platt regression: large, so it is near-unpenalised (two
parameters fitted on thousands of rows need no shrinkage)."""


class ProbabilityCalibrator(TransformerMixin, BaseEstimator):
    """Recalibrate predicted probabilities of default on a held-out calibration period.

    A scikit-learn transformer of one input, the raw probability (a 1-D array or a single
    column, as :class:`~sklearn.isotonic.IsotonicRegression` takes it), into the calibrated one.

    Parameters
    ----------
    method:
        ``"auto"`` (default), ``"isotonic"`` or ``"platt"``; see the module docstring for when
        to use which.

    Attributes
    ----------
    method_:
        The method fitted (or rebuilt by :meth:`from_dict`): ``"auto"`` resolves to one.
    cv_log_loss_:
        ``"auto"`` only: each method's mean held-out log loss on the calibration sample.
    largest_tie_share_:
        The share of calibration rows that share the most common calibrated PD.
    thresholds_x_, thresholds_y_:
        Isotonic only: raw probabilities (ascending, from 0 to 1) and their calibrated values
        (increasing): each isotonic block's mean raw probability and bad rate, plus the two ends;
        a probability between two thresholds is interpolated linearly.
    slope_, intercept_:
        Platt only: calibrated = sigmoid(slope_ · logit(p) + intercept_).
    n_rows_, n_bads_:
        Size of the calibration sample (``None`` for a calibrator rebuilt from a dict without them).
    n_features_in_:
        1: the raw probability.

    Examples
    --------
    >>> raw = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.8])
    >>> is_bad = np.array([0, 0, 1, 0, 1, 1])
    >>> calibrator = ProbabilityCalibrator("isotonic").fit(raw, is_bad)
    >>> # blocks: no bad at 0.1-0.2, one in two at 0.3-0.4, only bads at 0.6-0.8; each block's
    >>> # bad rate at its mean raw probability (0.15, 0.35, 0.7), linear in between
    >>> calibrator.transform([0.15, 0.35, 0.7]).round(6).tolist()
    [0.0003, 0.5, 0.999999]
    >>> bool(calibrator.transform([0.1, 0.12]).tolist() == [0.0003, 0.0003])  # the PD floor
    True
    >>> rebuilt = ProbabilityCalibrator.from_dict(calibrator.to_dict())
    >>> bool((rebuilt.transform(raw) == calibrator.transform(raw)).all())
    True
    """

    def __init__(self, method: str = AUTO, min_probability: float = PD_FLOOR) -> None:
        self.method = method
        self.min_probability = min_probability

    # ------------------------------------------------------------------ fitting
    def fit(self, X: ArrayLike, y: ArrayLike) -> ProbabilityCalibrator:
        """Fit the calibration map from the raw probability ``X`` to the observed bad flag ``y``
        (bool or 0/1) of the calibration period; one value per row."""
        _check_method(self.method)
        if not PROBABILITY_FLOOR <= self.min_probability < 0.5:
            raise ConfigError(
                f"min_probability must be in [{PROBABILITY_FLOOR}, 0.5); got {self.min_probability!r}"
            )
        raw = _probability_array(X, "probability", error=TrainingDataError)
        labels = _label_array(y, len(raw))
        if len(raw) == 0:
            raise TrainingDataError(
                "the calibration sample is empty: calibration needs rows of a held-out period "
                "with both goods and bads"
            )
        bads = int(labels.sum())
        if bads == 0 or bads == len(labels):
            raise TrainingDataError(
                f"the calibration sample has one class only: {len(labels)} rows, {bads} bads and "
                f"{len(labels) - bads} goods; both goods and bads are needed"
            )
        self.floor_ = float(self.min_probability)
        self.n_rows_, self.n_bads_ = len(labels), bads
        self.n_features_in_ = 1
        self.method_ = self.method
        if self.method == AUTO:
            self.cv_log_loss_ = self._held_out_log_loss(raw, labels)
            # Too few of a class to fold: the two-parameter map is the robust one.
            self.method_ = (min(self.cv_log_loss_, key=self.cv_log_loss_.get)
                            if self.cv_log_loss_ else PLATT)
        self._fit_map(raw, labels)
        calibrated = self.transform(raw)
        counts = pd.Series(calibrated).value_counts()
        commonest, self.largest_tie_share_ = counts.index[0], float(counts.iloc[0] / len(raw))
        if self.largest_tie_share_ > COLLAPSE_SHARE:
            logger.warning(
                "calibrated PDs collapse: %.1f%% of the %s calibration rows share one PD "
                "(%.4g), from %s distinct raw probabilities; those customers cannot be told "
                "apart by score, decile or limit: check the PD floor (model.pd_floor) and the "
                "model's resolution", 100 * self.largest_tie_share_, f"{len(raw):,}", commonest,
                f"{len(np.unique(raw[calibrated == commonest])):,}")
        return self

    def _held_out_log_loss(self, raw: np.ndarray, labels: np.ndarray) -> dict[str, float]:
        """Each fitted method's mean log loss on held-out folds of the calibration sample."""
        splits = min(AUTO_FOLDS, int(labels.sum()), int(len(labels) - labels.sum()))
        if splits < 2:
            return {}
        folds = StratifiedKFold(n_splits=splits, shuffle=True, random_state=0)
        losses: dict[str, list[float]] = {method: [] for method in FITTED_METHODS}
        for train, held in folds.split(raw.reshape(-1, 1), labels):
            for method in FITTED_METHODS:
                fitted = ProbabilityCalibrator(method, self.min_probability).fit(
                    raw[train], labels[train])
                losses[method].append(log_loss(labels[held], fitted.transform(raw[held]),
                                               labels=[0, 1]))
        return {method: float(np.mean(values)) for method, values in losses.items()}

    def _fit_map(self, raw: np.ndarray, labels: np.ndarray) -> None:
        if self.method_ == ISOTONIC:
            isotonic = IsotonicRegression(
                y_min=self.floor_, y_max=PROBABILITY_CEILING, increasing=True,
                out_of_bounds="clip",
            ).fit(raw, labels.astype(float))
            self.thresholds_x_, self.thresholds_y_ = _block_knots(
                raw, isotonic.predict(raw), self.floor_)
        else:
            regression = LogisticRegression(C=PLATT_C, max_iter=1000)
            regression.fit(_log_odds(raw).reshape(-1, 1), labels)
            slope, intercept = float(regression.coef_[0, 0]), float(regression.intercept_[0])
            if not slope > 0:
                raise TrainingDataError(
                    f"Platt calibration found a slope of {slope:.4g} (it must be > 0): the raw "
                    "probabilities do not rank the calibration period's bads above its goods, "
                    "so calibrating them would reverse or flatten the ranking"
                )
            self.slope_, self.intercept_ = slope, intercept

    # ------------------------------------------------------------------ applying
    def transform(self, X: ArrayLike) -> np.ndarray:
        """Calibrated probabilities (1-D), one per raw probability, clipped to
        [floor, 1 − 1e-6]."""
        check_is_fitted(self, "method_")
        raw = _probability_array(X, "probability", error=ValueError)
        if self.method_ == ISOTONIC:
            calibrated = np.interp(raw, self.thresholds_x_, self.thresholds_y_)
        else:
            calibrated = expit(self.slope_ * _log_odds(raw) + self.intercept_)
        return np.clip(calibrated, self.floor_, PROBABILITY_CEILING)

    # ------------------------------------------------------------------ serving
    def to_dict(self) -> dict[str, Any]:
        """The fitted map as a JSON-safe dict (plain strings, floats, ints and lists):
        ``{"method": "isotonic", "x": [...], "y": [...], ...}`` or
        ``{"method": "platt", "slope": a, "intercept": b, ...}``, plus the sample size."""
        check_is_fitted(self, "method_")
        state: dict[str, Any] = {"method": self.method_, "min_probability": self.floor_}
        if self.method_ == ISOTONIC:
            state["x"] = [float(value) for value in self.thresholds_x_]
            state["y"] = [float(value) for value in self.thresholds_y_]
        else:
            state["slope"], state["intercept"] = float(self.slope_), float(self.intercept_)
        if self.n_rows_ is not None:
            state["n_rows"], state["n_bads"] = int(self.n_rows_), int(self.n_bads_)
        return state

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> ProbabilityCalibrator:
        """A fitted calibrator rebuilt from :meth:`to_dict`'s output (e.g. read back from JSON);
        its ``transform`` gives exactly the output of the calibrator that was saved."""
        if not isinstance(state, Mapping) or "method" not in state:
            raise ValueError(f"a calibrator dict needs a 'method' key; got {state!r:.200}")
        method = state["method"]
        if method not in FITTED_METHODS:
            raise ConfigError(f"method must be one of {', '.join(FITTED_METHODS)}; got "
                              f"{method!r} (a saved calibrator names the method it fitted)")
        calibrator = cls(method=method,
                         min_probability=float(state.get("min_probability", PROBABILITY_FLOOR)))
        if method == ISOTONIC:
            x = _state_array(state, "x")
            y = _state_array(state, "y")
            if len(x) == 0 or len(x) != len(y):
                raise ValueError(
                    f"isotonic calibrator: 'x' and 'y' must be non-empty and of equal length; "
                    f"got {len(x)} and {len(y)} values"
                )
            if (np.diff(x) < 0).any() or (np.diff(y) < 0).any():
                raise ValueError("isotonic calibrator: 'x' and 'y' must be non-decreasing")
            if ((y < 0) | (y > 1)).any():
                raise ValueError(f"isotonic calibrator: 'y' must lie in [0, 1]; got {y.tolist()[:5]}")
            calibrator.thresholds_x_, calibrator.thresholds_y_ = x, y
        else:
            for key in ("slope", "intercept"):
                value = state.get(key)
                if isinstance(value, bool) or not isinstance(value, int | float) \
                        or not np.isfinite(value):
                    raise ValueError(f"platt calibrator: {key!r} must be a finite number; "
                                     f"got {value!r}")
            calibrator.slope_ = float(state["slope"])
            calibrator.intercept_ = float(state["intercept"])
        calibrator.method_ = method
        calibrator.floor_ = calibrator.min_probability
        calibrator.n_features_in_ = 1
        calibrator.n_rows_ = int(state["n_rows"]) if "n_rows" in state else None
        calibrator.n_bads_ = int(state["n_bads"]) if "n_bads" in state else None
        return calibrator


    def __sklearn_tags__(self) -> Tags:
        """One input, a probability: 1-D, as :class:`~sklearn.isotonic.IsotonicRegression`
        declares it (scikit-learn's generic checks, which fit on several features of any sign,
        then skip it)."""
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.target_tags.required = True
        return tags


def _block_knots(
    raw: np.ndarray, fitted: np.ndarray, floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """The strictly increasing map through each isotonic block: (mean raw probability, block
    value) per block, plus the ends: raw 0 and 1 map a :data:`TAIL_SHARE` of the way from the
    outermost block values towards ``floor`` and the ceiling."""
    centres = pd.Series(raw).groupby(fitted, sort=True).mean()
    x, y = centres.to_numpy(dtype=float), centres.index.to_numpy(dtype=float)
    start = y[0] - TAIL_SHARE * (y[0] - floor)
    end = y[-1] + TAIL_SHARE * (PROBABILITY_CEILING - y[-1])
    knots_x, knots_y = np.concatenate([[0.0], x, [1.0]]), np.concatenate([[start], y, [end]])
    inside = np.concatenate([[x[0] > 0.0], np.ones(len(x), bool), [x[-1] < 1.0]])
    return knots_x[inside], knots_y[inside]


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


def _check_method(method: Any) -> None:
    if method not in METHODS:
        raise ConfigError(f"method must be one of {', '.join(METHODS)}; got {method!r}.")


def _probability_array(
    probability: ArrayLike, name: str, *, error: type[ValueError]
) -> np.ndarray:
    values = check_array(probability, ensure_2d=False, dtype="float64", ensure_all_finite=False,
                         ensure_min_samples=0, ensure_min_features=0, input_name="X")
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per row) or a single column; got "
                         f"shape {values.shape}")
    missing = np.isnan(values)
    if missing.any():
        raise error(
            f"{name} must not contain missing values (NaN); got {int(missing.sum())} of "
            f"{len(values)}"
        )
    outside = (values < 0.0) | (values > 1.0)
    if outside.any():
        raise error(
            f"{name} must lie in [0, 1]; got {int(outside.sum())} value(s) outside, e.g. "
            f"{values[outside][:3].tolist()}"
        )
    return values


def _label_array(is_bad: ArrayLike, rows: int) -> np.ndarray:
    if is_bad is None:
        raise ValueError("the calibrator requires y to be passed, but the target y is None")
    values = pd.Series(np.asarray(is_bad))
    if values.ndim != 1 or len(values) != rows:
        raise ValueError(
            f"is_bad must have one value per probability ({rows}); got {len(values)}"
        )
    if values.isna().any():
        raise TrainingDataError(
            f"is_bad must not contain missing values; got {int(values.isna().sum())}"
        )
    return binary_labels(values)


def _log_odds(probability: np.ndarray) -> np.ndarray:
    return logit(np.clip(probability, PROBABILITY_FLOOR, PROBABILITY_CEILING))


def _state_array(state: Mapping[str, Any], key: str) -> np.ndarray:
    if key not in state:
        raise ValueError(f"isotonic calibrator dict needs a {key!r} list; got keys {list(state)}")
    values = np.asarray(state[key], dtype=float)
    if values.ndim != 1 or not np.isfinite(values).all():
        raise ValueError(f"isotonic calibrator: {key!r} must be a flat list of finite numbers")
    return values
