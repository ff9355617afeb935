"""``conf/model/*.yaml`` as one typed, self-checking value: the Hydra schema of ``model`` is this
class, so a setting is written once (here) and checked once (when the job's config becomes
settings), before any data are read."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

from credit_models.errors import ConfigError, enum_choice
from credit_models.features.binning import check_feature_binning
from credit_models.models.calibration import PD_FLOOR
from credit_models.models.param_checks import param_problems, type_problem, unknown_key_problem
from credit_models.models.scorecard import ScorePoints, WoeScorecard
from credit_models.models.xgb_pd import DEFAULT_PARAMS
from credit_models.models.xgb_pd import check_params as check_xgb_params


class ModelFamily(str, Enum):
    xgboost = "xgboost"
    scorecard = "scorecard"


class ClassWeight(str, Enum):
    none = "none"
    balanced = "balanced"


class CalibrationMethod(str, Enum):
    isotonic = "isotonic"
    platt = "platt"
    auto = "auto"      # the lower held-out log loss of the two on the calibration split
    none = "none"


SCORECARD_SET_ELSEWHERE = {"pdo": "model.score.pdo", "base_score": "model.score.base_score",
                           "base_odds": "model.score.base_odds", "random_state": "seed"}
"""Scorecard parameters the job sets from other keys: naming them in ``model.params`` would be
silently overridden."""

def check_scorecard_params(params: dict[str, Any]) -> None:
    """Names and types of ``model.params`` against :class:`WoeScorecard`'s own parameters."""
    problems = param_problems(params, sorted(WoeScorecard().get_params()),
                              typing.get_type_hints(WoeScorecard.__init__),
                              SCORECARD_SET_ELSEWHERE, "WoeScorecard")
    try:   # per-feature bins and trends: their shape, before any data are read
        check_feature_binning(params.get("user_splits"), params.get("monotonic_trends"))
    except ValueError as error:
        problems.append(f"model.params.{error}")
    if problems:
        raise ConfigError("; ".join(problems))


XGBOOST_ONLY_KEYS = ("early_stopping_rounds", "min_validation_bads", "monotone_constraints",
                     "class_weight")
"""``model.*`` keys only the XGBoost family reads."""


@dataclass(frozen=True)
class ModelSettings:
    """The PD model: family, its estimator's parameters, early stopping, class weight, monotone
    constraints, calibration and score scale. Checked as a whole when built."""

    name: str = "pd_xgb"
    family: ModelFamily = ModelFamily.xgboost
    params: dict[str, Any] = field(default_factory=dict)
    """The estimator's parameters over its defaults (``xgb_pd.DEFAULT_PARAMS`` for XGBoost, the
    :class:`WoeScorecard` signature for the scorecard); names and types checked."""
    early_stopping_rounds: int | None = 50
    """XGBoost stops when validation AUC has not improved for this many rounds; null grows
    ``params.n_estimators`` trees (a fixed tree count)."""
    min_validation_bads: int = 50
    """XGBoost: with fewer bads in the validation split, early stopping follows noise (100 rows
    with 7 bads stopped at the first tree), so the tree count comes from grouped 5-fold
    cross-validation on the pre-test rows instead, with a warning."""
    class_weight: ClassWeight = ClassWeight.none
    monotone_constraints: dict[str, int] = field(default_factory=dict)
    """Feature-name pattern (fnmatch) → +1 (PD never falls as it rises), −1 or 0."""
    calibration: CalibrationMethod = CalibrationMethod.auto
    pd_floor: float = PD_FLOOR
    """Lowest calibrated PD (3 basis points, the Basel retail floor)."""
    score: dict[str, float] = field(default_factory=dict)
    """Score scale over :class:`ScorePoints`' defaults: ``pdo``, ``base_score``, ``base_odds``."""

    def __post_init__(self) -> None:
        for key, kind in (("family", ModelFamily), ("class_weight", ClassWeight),
                          ("calibration", CalibrationMethod)):
            object.__setattr__(self, key, enum_choice(kind, getattr(self, key), f"model.{key}"))
        problems = [problem for key, value, expected in (
            ("model.name", self.name, str),
            ("model.early_stopping_rounds", self.early_stopping_rounds, int | None),
            ("model.min_validation_bads", self.min_validation_bads, int),
            ("model.pd_floor", self.pd_floor, float),
        ) if (problem := type_problem(key, value, expected))]
        if problems:
            raise ConfigError("; ".join(problems))
        if not 0.0 <= self.pd_floor < 1.0:
            raise ConfigError(f"model.pd_floor must be in [0, 1); got {self.pd_floor!r}")
        for pattern, direction in self.monotone_constraints.items():
            if isinstance(direction, bool) or direction not in (-1, 0, 1):
                raise ConfigError(f"model.monotone_constraints[{pattern!r}] must be one of "
                                  f"[-1, 0, 1]; got {direction!r}")
        self.score_points()     # checked now, not after training
        if self.family is ModelFamily.xgboost:
            check_xgb_params(dict(self.params))
            if self.early_stopping_rounds is not None and self.early_stopping_rounds < 1:
                raise ConfigError("model.early_stopping_rounds must be at least 1 or null (a "
                                  f"fixed tree count); got {self.early_stopping_rounds!r}")
            if self.min_validation_bads < 0:
                raise ConfigError("model.min_validation_bads must be >= 0; got "
                                  f"{self.min_validation_bads!r}")
        else:
            check_scorecard_params(dict(self.params))
            if self.class_weight is not ClassWeight.none:
                raise ConfigError(
                    "model.class_weight applies to the xgboost family only; a WoE scorecard is "
                    "fitted unweighted (its log-odds are the points)"
                )

    @property
    def unused_keys(self) -> tuple[str, ...]:
        """Settings this family does not have (XGBoost's early stopping, monotone constraints
        and class weight on a scorecard): a run does not log them as its parameters."""
        return () if self.family is ModelFamily.xgboost else XGBOOST_ONLY_KEYS

    @property
    def estimator_params(self) -> dict[str, Any]:
        """The estimator's parameters as fitted: ``params`` over the family's defaults
        (:data:`~credit_models.models.xgb_pd.DEFAULT_PARAMS` for XGBoost; the scorecard's
        defaults are its signature's)."""
        if self.family is ModelFamily.xgboost:
            return {**DEFAULT_PARAMS, **self.params}
        return dict(self.params)

    def score_points(self) -> ScorePoints:
        scale = dict(self.score)
        known = [item.name for item in fields(ScorePoints)]
        unknown = sorted(set(scale) - set(known))
        if unknown:
            raise ConfigError("; ".join(unknown_key_problem(f"model.score.{name}", name, known,
                                                            "the score scale")
                                        for name in unknown))
        try:
            return ScorePoints(**scale)
        except ConfigError as error:
            raise ConfigError(f"model.score.{error}") from None
