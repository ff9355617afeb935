"""The PD model a job trains, whatever its family, as one scikit-learn classifier: the
estimator, the features it reads, its calibration and its score scale. Evaluation, reports and
export only talk to this; a notebook fits the same model the CLI fits."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import ClassifierTags, Tags
from sklearn.utils.validation import check_array, check_is_fitted

from credit_models.features.binning import feature_frame
from credit_models.models.calibration import PD_FLOOR, ProbabilityCalibrator
from credit_models.models.monotone import monotone_directions
from credit_models.models.scorecard import ScorePoints, WoeScorecard
from credit_models.models.settings import CalibrationMethod, ClassWeight, ModelFamily, ModelSettings
from credit_models.models.target import bad_flags
from credit_models.models.xgb_pd import fit_xgb_pd

logger = logging.getLogger(__name__)


class PdModel(ClassifierMixin, BaseEstimator):
    """The PD model of a job, whatever its family: a scikit-learn binary classifier of bad (the
    positive class) whose ``predict_proba`` is calibrated when a calibration set was given.

    Parameters are the fields of :class:`ModelSettings` (:meth:`from_settings` builds the model a
    job configures), so a notebook fits exactly what the CLI fits.

    Parameters
    ----------
    family:
        ``"xgboost"`` (gradient-boosted trees) or ``"scorecard"`` (:class:`WoeScorecard`).
    params:
        The family's own parameters: XGBoost's, laid over :data:`DEFAULT_PARAMS`, or the
        scorecard's; ``None`` for the defaults.
    early_stopping_rounds:
        XGBoost stops when AUC on ``eval_set`` has not improved for this many rounds; ``None``
        grows ``n_estimators`` trees whatever ``eval_set`` says.
    class_weight:
        ``"balanced"`` weighs bads by goods / bads of the training rows (XGBoost only).
    monotone_constraints:
        Feature-name pattern → +1 / −1 (:func:`monotone_directions`); XGBoost only.
    calibration:
        ``"auto"`` (isotonic or Platt, by held-out log loss), ``"isotonic"``, ``"platt"`` or
        ``"none"``: fitted on ``calibration_set``.
    pd_floor:
        The lowest calibrated PD.
    pdo, base_score, base_odds:
        The points scale (:class:`ScorePoints`).
    random_state:
        Seeds XGBoost's row and column sampling, or the scorecard's solver and folds.

    Attributes
    ----------
    estimator_: the fitted ``xgb.XGBClassifier`` or :class:`WoeScorecard`.
    calibrator_: the fitted :class:`ProbabilityCalibrator`, ``None`` when uncalibrated.
    monotone_: feature → direction of the monotone constraints applied (XGBoost).
    best_iteration_: XGBoost: the last tree kept (early stopping's best, or the last grown).
    score_points_: the :class:`ScorePoints` of the scale.
    classes_: the two labels, good first: ``predict_proba[:, 1]`` is the PD.
    n_features_in_, feature_names_in_: as in scikit-learn (names when fitted on a DataFrame).
    """

    def __init__(
        self,
        *,
        family: str = ModelFamily.xgboost.value,
        params: Mapping[str, Any] | None = None,
        early_stopping_rounds: int | None = 50,
        class_weight: str = ClassWeight.none.value,
        monotone_constraints: Mapping[str, int] | None = None,
        calibration: str = CalibrationMethod.auto.value,
        pd_floor: float = PD_FLOOR,
        pdo: float = ScorePoints.pdo,
        base_score: float = ScorePoints.base_score,
        base_odds: float = ScorePoints.base_odds,
        random_state: int | None = 0,
    ) -> None:
        self.family = family
        self.params = params
        self.early_stopping_rounds = early_stopping_rounds
        self.class_weight = class_weight
        self.monotone_constraints = monotone_constraints
        self.calibration = calibration
        self.pd_floor = pd_floor
        self.pdo = pdo
        self.base_score = base_score
        self.base_odds = base_odds
        self.random_state = random_state

    @classmethod
    def from_settings(cls, settings: ModelSettings, random_state: int | None) -> PdModel:
        """The unfitted model ``settings`` (a job's ``model`` group) describe."""
        return cls(
            family=settings.family.value, params=dict(settings.params),
            early_stopping_rounds=settings.early_stopping_rounds,
            class_weight=settings.class_weight.value,
            monotone_constraints=dict(settings.monotone_constraints),
            calibration=settings.calibration.value, pd_floor=settings.pd_floor,
            **dict(settings.score), random_state=random_state,
        )

    @classmethod
    def from_fitted(
        cls, estimator: xgb.XGBClassifier | WoeScorecard, features: Sequence[str], *,
        calibrator: ProbabilityCalibrator | None = None, score: Mapping[str, float] | None = None,
    ) -> PdModel:
        """A fitted model around an estimator fitted elsewhere (read back from an export, or
        fitted by hand in a test) on the DataFrame columns ``features``, 0/1 or False/True."""
        family = (ModelFamily.scorecard if isinstance(estimator, WoeScorecard)
                  else ModelFamily.xgboost)
        calibration = (CalibrationMethod.none.value if calibrator is None
                       else calibrator.method_)
        model = cls(family=family.value, calibration=calibration,
                    pd_floor=PD_FLOOR if calibrator is None else calibrator.floor_,
                    **dict(score or {}))
        model.estimator_, model.calibrator_, model.monotone_ = estimator, calibrator, {}
        model.feature_names_in_ = np.asarray(list(features), dtype=object)
        model.n_features_in_ = len(features)
        model.classes_ = np.asarray(estimator.classes_)
        model.best_iteration_ = _best_iteration(estimator)
        model.score_points_ = model._settings().score_points()
        return model

    # ------------------------------------------------------------------ fitting
    def fit(
        self, X: pd.DataFrame | np.ndarray, y: ArrayLike, *,
        eval_set: tuple[pd.DataFrame | np.ndarray, ArrayLike] | None = None,
        calibration_set: tuple[pd.DataFrame | np.ndarray, ArrayLike] | None = None,
    ) -> PdModel:
        """Fit the family on ``X`` (XGBoost stops early on ``eval_set`` when given and
        ``early_stopping_rounds`` is set, grows every tree otherwise, and records the
        ``eval_set`` metric of every round in ``estimator_.evals_result()``), then the
        calibration on ``calibration_set`` when given and the
        calibration is not ``"none"``: rows of a held-out period, neither trained nor stopped on.
        ``y``: bad = 1 or True, good = 0 or False."""
        settings = self._settings()
        self.score_points_ = settings.score_points()
        frame = self._inputs(X, reset=True)
        is_bad = self._encoded_target(y, len(frame), reset=True)
        params = dict(self.params or {})
        self.monotone_ = {}
        if settings.family is ModelFamily.scorecard:
            self.estimator_ = WoeScorecard(**{**params, "pdo": self.pdo,
                                              "base_score": self.base_score,
                                              "base_odds": self.base_odds,
                                              "random_state": self.random_state})
            self.estimator_.fit(frame, is_bad.astype(bool))
        else:
            self.monotone_ = monotone_directions(frame, self.monotone_constraints or {})
            if self.monotone_:
                params["monotone_constraints"] = dict(self.monotone_)
            if settings.class_weight is ClassWeight.balanced:
                bads = int(is_bad.sum())
                params["scale_pos_weight"] = (len(is_bad) - bads) / max(bads, 1)
            validation = None
            if eval_set is not None:
                eval_inputs = self._inputs(eval_set[0], reset=False)
                validation = (eval_inputs, self._encoded_target(eval_set[1], len(eval_inputs)))
            self.estimator_ = fit_xgb_pd(frame, is_bad, validation, params,
                                         self.early_stopping_rounds, self.random_state)
        self.best_iteration_ = _best_iteration(self.estimator_)
        self.calibrator_ = None
        if calibration_set is not None and settings.calibration is not CalibrationMethod.none:
            raw = self.predict_raw_proba(calibration_set[0])[:, 1]
            self.calibrator_ = ProbabilityCalibrator(
                method=settings.calibration.value, min_probability=self.pd_floor
            ).fit(raw, self._encoded_target(calibration_set[1], len(raw)).astype(bool))
        return self

    def fixed_trees(self) -> PdModel:
        """An unfitted copy that refits the way cross-validation refits on a fold, or a final
        model on more rows: XGBoost grows the number of trees this fit kept, with no early
        stopping, and this fit's class weight; the scorecard is refitted as configured."""
        check_is_fitted(self)
        copy = clone(self)
        if self._settings().family is ModelFamily.xgboost:
            params = {**(self.params or {}), "n_estimators": self.best_iteration_ + 1}
            copy.set_params(early_stopping_rounds=None)
            if self._settings().class_weight is ClassWeight.balanced:
                params["scale_pos_weight"] = self.estimator_.get_params()["scale_pos_weight"]
                copy.set_params(class_weight=ClassWeight.none.value)
            copy.set_params(params=params)
        return copy

    def _settings(self) -> ModelSettings:
        """The parameters checked by the rules a job's ``model`` settings obey (one set of
        rules for the CLI and a notebook)."""
        return ModelSettings(
            family=self.family, params=dict(self.params or {}),
            early_stopping_rounds=self.early_stopping_rounds, class_weight=self.class_weight,
            monotone_constraints=dict(self.monotone_constraints or {}),
            calibration=self.calibration, pd_floor=self.pd_floor,
            score={"pdo": self.pdo, "base_score": self.base_score, "base_odds": self.base_odds},
        )

    def _inputs(self, X: pd.DataFrame | np.ndarray, *, reset: bool) -> pd.DataFrame:
        """``X`` as the estimator reads it: a DataFrame keeps its columns and dtypes (categories
        stay categories); an array is read as numbers for XGBoost, as values for the scorecard
        (whose bins also take text). A fitted scorecard reads only the features it selected."""
        if not isinstance(X, pd.DataFrame) and self.family == ModelFamily.xgboost:
            X = check_array(X, dtype="float64", ensure_all_finite="allow-nan",
                            ensure_min_samples=1 if reset else 0)
        scorecard = None if reset else getattr(self, "estimator_", None)
        features = scorecard.features_ if isinstance(scorecard, WoeScorecard) else None
        return feature_frame(self, X, reset=reset, features=features)

    def _encoded_target(self, y: ArrayLike, n_rows: int, *, reset: bool = False) -> np.ndarray:
        """``y`` as 0 (good) / 1 (bad), checked by :func:`bad_flags`; ``reset`` sets
        ``classes_``."""
        classes, is_bad = bad_flags(y, n_rows)
        if reset:
            self.classes_ = classes
        return is_bad

    # ------------------------------------------------------------------ predicting
    def predict_raw_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The estimator's own (uncalibrated) probabilities: columns good, bad."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(self._inputs(X, reset=False))

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated probabilities (raw when no calibrator was fitted): columns good, bad (PD)."""
        raw = self.predict_raw_proba(X)[:, 1]
        probability = raw if self.calibrator_ is None else self.calibrator_.transform(raw)
        return np.column_stack([1.0 - probability, probability])

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """``classes_[1]`` (bad) where the calibrated PD exceeds 0.5; scikit-learn's convention,
        rarely the right cut-off in credit, where a cut-off is set on the score."""
        is_bad = self.predict_proba(X)[:, 1] > 0.5
        return self.classes_[is_bad.astype(int)]

    def points(self, probability: ArrayLike) -> Any:
        """Score points of a PD on the configured scale (higher = safer)."""
        check_is_fitted(self)
        return self.score_points_.probability_to_points(probability)

    def summary(self) -> dict[str, Any]:
        """What the run records about the fit (trees used, features the scorecard kept…)."""
        check_is_fitted(self)
        if isinstance(self.estimator_, xgb.XGBClassifier):
            return {"trees": self.estimator_.get_booster().num_boosted_rounds(),
                    "best_iteration": self.best_iteration_,
                    "monotone_features": len(self.monotone_)}
        return {"scorecard_features": len(self.estimator_.features_)}

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = self.family == ModelFamily.scorecard
        tags.target_tags.required = True
        tags.classifier_tags = ClassifierTags(multi_class=False)
        return tags


def _best_iteration(estimator: Any) -> int | None:
    """XGBoost: early stopping's best iteration, or the last tree when it did not stop early."""
    if isinstance(estimator, WoeScorecard):
        return None
    booster = estimator.get_booster()
    best = booster.attr("best_iteration")
    return int(best) if best is not None else booster.num_boosted_rounds() - 1
