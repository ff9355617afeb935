"""The PD model a job trains, whatever its family: the estimator, the features it reads, its
calibration and its score scale. Evaluation, reports and export only talk to this."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from credit_models.errors import ConfigError
from credit_models.models.calibration import PD_FLOOR, ProbabilityCalibrator
from credit_models.models.monotone import monotone_directions
from credit_models.models.scorecard import ScorePoints, WoeScorecard
from credit_models.models.xgb_pd import DEFAULT_PARAMS, check_params, fit_xgb_pd

logger = logging.getLogger(__name__)


class ModelFamily(str, Enum):
    xgboost = "xgboost"
    scorecard = "scorecard"


class ClassWeight(str, Enum):
    none = "none"
    balanced = "balanced"


class CalibrationMethod(str, Enum):
    isotonic = "isotonic"
    platt = "platt"
    none = "none"


@dataclass(frozen=True)
class ModelSettings:
    """``conf/model/*.yaml`` as plain values (the Hydra schema mirrors it)."""

    name: str = "pd_xgb"
    family: ModelFamily = ModelFamily.xgboost
    params: Mapping[str, Any] = field(default_factory=dict)
    early_stopping_rounds: int = 50
    class_weight: ClassWeight = ClassWeight.none
    monotone_constraints: Mapping[str, int] = field(default_factory=dict)
    calibration: CalibrationMethod = CalibrationMethod.isotonic
    pd_floor: float = PD_FLOOR
    score: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ModelSettings:
        values = dict(config)
        for key, kind, default in (("family", ModelFamily, "xgboost"),
                                   ("class_weight", ClassWeight, "none"),
                                   ("calibration", CalibrationMethod, "isotonic")):
            value = _plain(values.get(key, default))
            choices = [member.value for member in kind]
            if value not in choices:
                raise ConfigError(f"model.{key} must be one of {choices}; got {value!r}")
            values[key] = kind(value)
        settings = cls(**values)
        settings.score_points()     # checked now, not after training
        if settings.family is ModelFamily.xgboost:
            check_params({**DEFAULT_PARAMS, **dict(settings.params)})
            if settings.early_stopping_rounds < 1:
                raise ConfigError("model.early_stopping_rounds must be at least 1; got "
                                  f"{settings.early_stopping_rounds!r}")
        if settings.family is ModelFamily.scorecard and settings.class_weight is not ClassWeight.none:
            raise ConfigError(
                "model.class_weight applies to the xgboost family only; a WoE scorecard is fitted "
                "unweighted (its log-odds are the points)"
            )
        return settings

    def score_points(self) -> ScorePoints:
        return ScorePoints(**dict(self.score))


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


@dataclass
class PdModel:
    """A fitted PD model; ``probability`` is calibrated when a calibrator was fitted."""

    settings: ModelSettings
    estimator: Any
    features: list[str]
    monotone: dict[str, int] = field(default_factory=dict)
    calibrator: ProbabilityCalibrator | None = None

    @property
    def family(self) -> ModelFamily:
        return self.settings.family

    def raw_probability(self, inputs: pd.DataFrame) -> np.ndarray:
        return self.estimator.predict_proba(inputs[self.features])[:, 1]

    def probability(self, inputs: pd.DataFrame) -> np.ndarray:
        raw = self.raw_probability(inputs)
        return raw if self.calibrator is None else self.calibrator.transform(raw)

    def score(self, probability: np.ndarray) -> np.ndarray:
        """Score points of a probability on the configured scale (higher = safer)."""
        return self.settings.score_points().probability_to_points(probability)

    def calibrate(self, inputs: pd.DataFrame, is_bad: pd.Series) -> PdModel:
        """Fit the configured calibration on a held-out sample (the calibration period)."""
        method = self.settings.calibration
        if method is CalibrationMethod.none:
            self.calibrator = None
            return self
        self.calibrator = ProbabilityCalibrator(
            method=method.value, min_probability=self.settings.pd_floor
        ).fit(
            self.raw_probability(inputs), is_bad.to_numpy(dtype=bool)
        )
        return self

    def summary(self) -> dict[str, Any]:
        """What the run records about the fit (trees used, features the scorecard kept…)."""
        if self.family is ModelFamily.xgboost:
            booster = self.estimator.get_booster()
            return {"trees": booster.num_boosted_rounds(),
                    "best_iteration": int(self.estimator.best_iteration),
                    "monotone_features": len(self.monotone)}
        return {"scorecard_features": len(self.estimator.features_)}


def fit_pd_model(
    settings: ModelSettings,
    development: pd.DataFrame,
    development_is_bad: pd.Series,
    validation: pd.DataFrame,
    validation_is_bad: pd.Series,
    seed: int,
) -> PdModel:
    """Fit the configured family on development rows (XGBoost stops early on validation)."""
    features = list(development.columns)
    if settings.family is ModelFamily.scorecard:
        estimator = WoeScorecard(**{**dict(settings.params), **dict(settings.score),
                                    "random_state": seed})
        estimator.fit(development, development_is_bad.to_numpy(dtype=bool))
        return PdModel(settings, estimator, features)
    monotone = monotone_directions(development, settings.monotone_constraints)
    params = dict(settings.params)
    if monotone:
        params["monotone_constraints"] = {name: monotone[name] for name in monotone}
    if settings.class_weight is ClassWeight.balanced:
        bads = int(development_is_bad.sum())
        params["scale_pos_weight"] = (len(development_is_bad) - bads) / max(bads, 1)
    estimator = fit_xgb_pd(
        development, development_is_bad, validation, validation_is_bad, params,
        settings.early_stopping_rounds, seed,
    )
    return PdModel(settings, estimator, features, monotone=monotone)


def refit_for_fold(model: PdModel, inputs: pd.DataFrame, is_bad: pd.Series, seed: int) -> PdModel:
    """The same model refitted on a cross-validation fold: XGBoost with the number of trees the
    main fit chose (no early stopping inside a fold), the scorecard as configured."""
    settings = model.settings
    if settings.family is ModelFamily.scorecard:
        estimator = WoeScorecard(**{**dict(settings.params), **dict(settings.score),
                                    "random_state": seed})
        estimator.fit(inputs[model.features], is_bad.to_numpy(dtype=bool))
        return PdModel(settings, estimator, model.features)
    params = model.estimator.get_params()
    params.update(n_estimators=int(model.estimator.best_iteration) + 1,
                  early_stopping_rounds=None)
    estimator = xgb.XGBClassifier(**params)
    estimator.fit(inputs[model.features], is_bad.astype(np.int8), verbose=False)
    return PdModel(settings, estimator, model.features, monotone=model.monotone)
