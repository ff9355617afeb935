"""The tune job's study, as settings: its trials, target, sampler and search space, checked
against the training settings when :class:`~credit_models.workflows.settings.TuneSettings` is
built, so a bad search answers with the other config errors (exit 2), before any data are read,
the MLflow store is touched or Optuna is loaded (:mod:`credit_models.workflows.tuning` runs the
study)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from credit_models.errors import ConfigError
from credit_models.split.factory import Splitter
from credit_models.split.names import DEVELOPMENT, OUT_OF_TIME, TEST

if TYPE_CHECKING:
    import optuna

    from credit_models.workflows.settings import TuneSettings

logger = logging.getLogger(__name__)

SEARCH_TYPES = ("float", "int", "categorical")
DIMENSION_FIELDS = frozenset(("type", "low", "high", "log", "choices"))
"""The fields of one ``tuning.space`` entry (the schema's ``SearchDimension``)."""
CROSS_VALIDATION = "cv"
"""Prefix of the cross-validation metrics (``cv/auc_mean``), a valid tuning target."""


@dataclass(frozen=True)
class Dimension:
    """One hyper-parameter of the search, checked."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: optuna.Trial) -> Any:
        if self.type == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        if self.type == "float":
            return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)
        return trial.suggest_categorical(self.name, list(self.choices))

    def contains(self, value: Any) -> bool:
        if self.type == "categorical":
            return value in self.choices
        return isinstance(value, int | float) and self.low <= value <= self.high


def search_space(
    space: Mapping[str, Mapping[str, Any]], model_params: Mapping[str, Any]
) -> dict[str, Dimension]:
    """``tuning.space`` as dimensions; every problem is a ConfigError naming the key."""
    if not space:
        raise ConfigError("tuning.space is empty: give at least one model.params key and its range")
    return {name: _dimension(name, spec, model_params) for name, spec in space.items()}


def _dimension(name: str, spec: Any, model_params: Mapping[str, Any]) -> Dimension:
    where = f"tuning.space.{name}"
    if name not in model_params:
        raise ConfigError(
            f"{where}: {name!r} is not a key of model.params {sorted(model_params)}; add it "
            f"to the model config (e.g. +model.params.{name}=…) or pick the tuning option of "
            f"this model (tuning=scorecard for model=scorecard)"
        )
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where} must be a mapping of {sorted(DIMENSION_FIELDS)}; got {spec!r}")
    unknown = sorted(set(spec) - DIMENSION_FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {unknown}; the fields are "
                          f"{sorted(DIMENSION_FIELDS)}")
    kind = spec.get("type", "float")
    if kind not in SEARCH_TYPES:
        raise ConfigError(f"{where}.type must be one of {list(SEARCH_TYPES)}; got {kind!r}")
    low, high, log = spec.get("low"), spec.get("high"), spec.get("log", False)
    choices = spec.get("choices")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log must be true or false; got {log!r}")
    for bound, value in (("low", low), ("high", high)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ConfigError(f"{where}.{bound} must be a number; got {value!r}")
    if kind == "categorical":
        if not isinstance(choices, Sequence) or isinstance(choices, str) or not choices:
            raise ConfigError(f"{where}: type categorical needs a non-empty list of choices")
        odd = [value for value in choices
               if value is not None and not isinstance(value, bool | int | float | str)]
        if odd:
            raise ConfigError(f"{where}: choices must be numbers, text, booleans or null; "
                              f"got {odd}")
        if low is not None or high is not None or log:
            raise ConfigError(f"{where}: low, high and log apply to float and int, not to "
                              f"categorical")
        return Dimension(name, kind, choices=tuple(choices))
    if choices:
        raise ConfigError(f"{where}: choices apply to type categorical, not {kind}")
    if low is None or high is None:
        raise ConfigError(f"{where}: type {kind} needs low and high; got low={low}, high={high}")
    if low >= high:
        raise ConfigError(f"{where}: low ({low}) must be below high ({high})")
    if log and low <= 0:
        raise ConfigError(f"{where}: log=true samples on a log scale and needs low > 0; "
                          f"got low={low}")
    if kind == "int" and (low != int(low) or high != int(high)):
        raise ConfigError(f"{where}: type int needs whole low and high; got {low}, {high}")
    return Dimension(name, kind, float(low), float(high), log)


def check_tuning_metric(metric: str, direction: str, splitter: Splitter) -> None:
    """The metric must be ``split/name`` of a split that is not the test period."""
    prefix, _, name = metric.partition("/")
    if not prefix or not name:
        raise ConfigError(f"tuning.metric must be split/metric, such as valid/auc; got {metric!r}")
    test_splits = {splitter.evaluation_split, OUT_OF_TIME, TEST}
    if prefix in test_splits:
        raise ConfigError(
            f"tuning.metric={metric} is a metric of the {prefix} split, the test period: choosing "
            f"hyper-parameters by it is leakage (the reported {prefix} score would be "
            f"optimistic). Tune on the validation split (valid/auc) or on cross-validation "
            f"(cv/auc_mean with split.cv_folds)"
        )
    if prefix == CROSS_VALIDATION and splitter.cv_includes_test:
        raise ConfigError(
            f"tuning.metric={metric}: this split's cross-validation folds run over every row, "
            f"the {splitter.evaluation_split} split's included, so choosing by it would look at "
            f"the test period. Tune on the validation split (valid/auc)"
        )
    allowed = [period for period in splitter.periods if period not in test_splits]
    allowed.append(CROSS_VALIDATION)
    if prefix not in allowed:
        raise ConfigError(f"tuning.metric={metric}: {prefix!r} is not a split of this run; "
                          f"use one of {allowed}")
    if prefix == DEVELOPMENT:
        logger.warning("tuning.metric=%s is measured on the rows the model is fitted on: the "
                       "search will favour overfitting", metric)
    higher_is_better = name.startswith(("auc", "gini", "ks"))
    if higher_is_better != (direction == "maximize") and name.split("_")[0] in (
            "auc", "gini", "ks", "brier", "log", "ece", "psi"):
        logger.warning("tuning.direction=%s for %s: is that the intended way?", direction, metric)


@dataclass(frozen=True)
class StudySettings:
    """The study: its trials, target, sampler and search space, checked against the training
    settings before any data are read."""

    n_trials: int
    metric: str
    direction: str
    sampler_seed: int
    timeout_s: float | None
    baseline_trial: bool
    space: dict[str, Dimension]

    @classmethod
    def from_settings(cls, settings: TuneSettings) -> StudySettings:
        """The study of the tune job's ``tuning`` settings, checked against its model and split."""
        tuning = settings.tuning
        space = search_space(tuning.space, settings.model.estimator_params)
        if tuning.n_trials < 1:
            raise ConfigError(f"tuning.n_trials must be at least 1; got {tuning.n_trials}")
        direction = tuning.direction.value
        check_tuning_metric(tuning.metric, direction, settings.splitter)
        return cls(n_trials=tuning.n_trials, metric=tuning.metric, direction=direction,
                   sampler_seed=tuning.sampler_seed, timeout_s=tuning.timeout_s,
                   baseline_trial=tuning.baseline_trial, space=space)
