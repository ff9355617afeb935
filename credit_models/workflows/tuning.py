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
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol

import optuna
import pandas as pd

from credit_models.errors import ConfigError, TrainingDataError
from credit_models.models.settings import ModelSettings
from credit_models.workflows.pd_training import (
    PdModellingData,
    PdTrainingResult,
    complete_training,
    fit_and_evaluate,
    fit_metrics,
)
from credit_models.workflows.settings import TrainSettings
from credit_models.workflows.study_settings import StudySettings
from credit_models.workflows.training_data import Stage

logger = logging.getLogger(__name__)

class TuningError(RuntimeError):
    """The study produced no usable trial."""


class _TrialFailed(Exception):
    """A trial's fit failed; the study goes on (Optuna records the trial as FAIL)."""


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
    evaluated = fit_and_evaluate(table, best_settings.model, seed, data,
                                 refit=settings.refit)
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
