"""A hyper-parameter study of the PD model with Optuna, over rows built once.

Each trial fits and evaluates the PD model with its own ``model.params`` (the train job's
computation) on the same modelling table; the best configuration is then refitted and completed
like a training run. Trials are chosen by a metric of the validation split (or of
cross-validation); a metric of the test split is refused: picking a model by its test score makes
that score optimistic. How a trial is recorded is the caller's: it passes a :data:`TrialTracker`
(tracking opens a child run per trial), so this module never touches MLflow.

Optuna is driven directly rather than through Hydra's Optuna sweeper, which pins optuna < 3 (whose
storage breaks with SQLAlchemy 2).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol

import optuna
import pandas as pd

from credit_models.errors import ConfigError, TrainingDataError
from credit_models.models.settings import ModelSettings
from credit_models.split.factory import Splitter
from credit_models.split.names import DEVELOPMENT, OUT_OF_TIME, TEST
from credit_models.workflows.pd_training import (
    PdModellingData,
    PdTrainingResult,
    complete_training,
    fit_and_evaluate,
    fit_metrics,
)
from credit_models.workflows.settings import TrainSettings, TuneSettings
from credit_models.workflows.training_data import Stage

logger = logging.getLogger(__name__)

SEARCH_TYPES = ("float", "int", "categorical")
DIMENSION_FIELDS = frozenset(("type", "low", "high", "log", "choices"))
"""The fields of one ``tuning.space`` entry (the schema's ``SearchDimension``)."""
CROSS_VALIDATION = "cv"
"""Prefix of the cross-validation metrics (``cv/auc_mean``), a valid tuning target."""


class TuningError(RuntimeError):
    """The study produced no usable trial."""


class _TrialFailed(Exception):
    """A trial's fit failed; the study goes on (Optuna records the trial as FAIL)."""


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


class TrialRecord(Protocol):
    """Where one trial is recorded: its id (a run id) and its metrics."""

    run_id: str | None

    def log_metrics(self, metrics: Mapping[str, float]) -> None: ...


TrialTracker = Callable[[int, Mapping[str, Any]], AbstractContextManager[TrialRecord]]
"""Opens the record of trial ``number`` with its full ``model.params``; an exception of the trial
passes through it (so it can record the failure) and on."""


@dataclass
class _Untracked:
    run_id: str | None = None

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        """Nothing to record."""


@contextmanager
def untracked(number: int, params: Mapping[str, Any]) -> Iterator[TrialRecord]:
    """The tracker of a study recorded nowhere."""
    yield _Untracked()


@dataclass(frozen=True)
class StudyResult:
    """The study and the refitted best model."""

    study: optuna.Study
    trials: pd.DataFrame
    """One row per trial: number, state, value, parameters, seconds, run id, error."""
    best_trial: int
    best_trial_run_id: str | None
    best_params: dict[str, Any]
    """The searched parameters of the best trial."""
    model_params: dict[str, Any]
    """The refitted model's full ``model.params`` (the configured ones with the best)."""
    best_value: float
    best_metrics: dict[str, float]
    """The best trial's metrics."""
    baseline_value: float | None
    """The metric of trial 0 with the configured params (when ``tuning.baseline_trial``)."""
    trials_complete: int
    trials_failed: int
    refitted: PdTrainingResult


def with_params(model: ModelSettings, params: Mapping[str, Any]) -> ModelSettings:
    """The model settings with other ``params``, checked again."""
    return replace(model, params=dict(params))


def tune_pd_model(
    prepared: PdModellingData,
    settings: TrainSettings,
    study_settings: StudySettings,
    *,
    track_trial: TrialTracker = untracked,
    stage: Stage = logger.info,
) -> StudyResult:
    """Run the study on ``prepared``, then refit and complete the best configuration."""
    table, data, seed = prepared.table, prepared.data, settings.seed
    base_params = dict(settings.model.estimator_params)
    space, metric = study_settings.space, study_settings.metric
    trial_metrics: dict[int, dict[str, float]] = {}
    optuna.logging.set_verbosity(optuna.logging.ERROR)   # the job reports each trial itself

    def objective(trial: optuna.Trial) -> float:
        trial_started = time.perf_counter()
        params = {**base_params, **{name: dim.suggest(trial) for name, dim in space.items()}}
        try:
            with track_trial(trial.number, params) as record:
                trial.set_user_attr("run_id", record.run_id)
                evaluated = fit_and_evaluate(table, with_params(settings.model, params), seed,
                                             data)
                metrics = {**evaluated.metrics, **fit_metrics(evaluated.model),
                           "trial/seconds": time.perf_counter() - trial_started}
                record.log_metrics(metrics)
                if metric not in metrics:
                    raise ConfigError(f"tuning.metric={metric} is not among a trial's metrics "
                                      f"{sorted(metrics)}")
                value = metrics[metric]
                if not math.isfinite(value):
                    raise TrainingDataError(f"{metric} is {value}")
        except ConfigError:
            raise                     # a setting no trial can satisfy: stop the study
        except Exception as error:    # this trial's parameters failed: the study goes on
            trial.set_user_attr("error", f"{type(error).__name__}: {error}"[:500])
            raise _TrialFailed(str(error)) from error
        finally:
            trial.set_user_attr("seconds", round(time.perf_counter() - trial_started, 3))
        trial_metrics[trial.number] = metrics
        return value

    def progress(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        position = f"trial-{trial.number} ({trial.number + 1}/{study_settings.n_trials})"
        seconds = trial.user_attrs.get("seconds", float("nan"))
        if trial.state is not optuna.trial.TrialState.COMPLETE:
            stage("%s FAILED after %.1fs: %s", position, seconds, trial.user_attrs.get("error"))
            return
        best = study.best_trial
        stage("%s: %s %.4f | best %.4f (trial-%d) | %.1fs | %s", position, metric,
              trial.value, best.value, best.number, seconds, format_params(trial.params))

    study = optuna.create_study(
        study_name=f"tune-{settings.model.name}", direction=study_settings.direction,
        sampler=optuna.samplers.TPESampler(seed=study_settings.sampler_seed),
    )
    if study_settings.baseline_trial:
        baseline = {name: base_params[name] for name in space}
        outside = [f"{name}={value}" for name, value in baseline.items()
                   if not space[name].contains(value)]
        if outside:
            logger.warning("trial-0 (the configured params) is outside tuning.space: %s",
                           ", ".join(outside))
        study.enqueue_trial(baseline)
    timeout = study_settings.timeout_s
    stage("study: %d trials of %d parameters, %s %s, TPE seed %d%s", study_settings.n_trials,
          len(space), study_settings.direction, metric, study_settings.sampler_seed,
          f", at most {timeout:g}s" if timeout else "")
    study.optimize(objective, n_trials=study_settings.n_trials, timeout=timeout,
                   catch=(_TrialFailed,), callbacks=[progress])

    states = optuna.trial.TrialState
    complete = [trial for trial in study.trials if trial.state is states.COMPLETE]
    failed = [trial for trial in study.trials if trial.state is states.FAIL]
    if not complete:
        raise TuningError(
            f"all {len(study.trials)} trials failed; the first: "
            f"{failed[0].user_attrs.get('error') if failed else 'no trial ran'}"
        )
    if failed:
        logger.warning("%d of %d trials failed: %s", len(failed), len(study.trials),
                       "; ".join(f"trial-{t.number}: {t.user_attrs.get('error')}" for t in failed))
    best = study.best_trial
    stage("best: trial-%d, %s %.4f of %d complete trials (%d failed); refitting it",
          best.number, metric, best.value, len(complete), len(failed))

    model_params = {**base_params, **best.params}
    best_settings = replace(settings, model=with_params(settings.model, model_params))
    evaluated = fit_and_evaluate(table, best_settings.model, seed, data)
    refit_value = evaluated.metrics.get(metric, math.nan)
    if not math.isclose(refit_value, best.value, rel_tol=1e-9, abs_tol=1e-12):
        logger.warning("the refitted best model gives %s %.6f, its trial gave %.6f: the fit "
                       "is not deterministic (threads?)", metric, refit_value, best.value)
    first = study.trials[0]
    return StudyResult(
        study=study, trials=trials_table(study), best_trial=best.number,
        best_trial_run_id=best.user_attrs.get("run_id"), best_params=dict(best.params),
        model_params=model_params, best_value=float(best.value),
        best_metrics=trial_metrics[best.number],
        baseline_value=(first.value if study_settings.baseline_trial
                        and first.state is states.COMPLETE else None),
        trials_complete=len(complete), trials_failed=len(failed),
        refitted=complete_training(prepared, evaluated, best_settings, stage),
    )


def format_params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
                     for name, value in params.items())


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value, parameters, seconds, run id, error."""
    table = study.trials_dataframe(attrs=("number", "state", "value", "duration", "params",
                                          "user_attrs"))
    table = table.rename(columns=lambda name: name.removeprefix("user_attrs_"))
    if "duration" in table:     # the trial as Optuna timed it (the job's own "seconds" is dropped)
        table["seconds"] = table.pop("duration").dt.total_seconds()
    return table
