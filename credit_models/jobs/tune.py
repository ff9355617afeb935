"""`credit-models-tune`: hyper-parameter search with Optuna over the train job's data and model.

The data, features, split and feature selection are built once; each trial fits and evaluates the
PD model with its own ``model.params`` (the same computation as the train job) and is logged as a
child MLflow run (``trial-<n>``) under one parent run. The parent ends up carrying the best trial
(``best.<param>`` params, its metrics, ``best_trial_run_id``), the trials table and the
optimisation plots; the best configuration is then refitted and logged in full as the child run
``best``, with the validation report and, when ``mlflow.register``, a registered version.

Optuna is driven directly rather than through Hydra's Optuna sweeper, which pins optuna < 3 (whose
storage breaks with SQLAlchemy 2). Trials are chosen by a metric of the validation split (or of
cross-validation); a metric of the test split is refused: picking a model by its test score makes
that score optimistic.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import mlflow
import optuna
import pandas as pd
from matplotlib.figure import Figure
from mlflow import MlflowClient
from omegaconf import DictConfig, OmegaConf

from credit_models.config.schema import SearchDimension, register_configs
from credit_models.errors import ConfigError, TrainingDataError
from credit_models.features.selection_config import SelectionConfig
from credit_models.features.sensitive import SensitiveAttributes
from credit_models.models.pd_model import ModelSettings
from credit_models.paths import PACKAGE_DIR
from credit_models.jobs.runner import job_entry
from credit_models.workflows.pd_training import (
    EvaluatedModel,
    check_calibration_split,
    fit_and_evaluate,
    modelling_table,
)
from credit_models.jobs.train import oracle_metrics
from credit_models.workflows.training_data import assemble_training_data
from credit_models.split.factory import Splitter, build_splitter
from credit_models.split.names import DEVELOPMENT, OUT_OF_TIME, TEST
from credit_models.tracking.mlflow_tracking import (
    code_version,
    flatten_params,
    resolve_tracking_uri,
)
from credit_models.tracking.pd_run import log_pd_run

logger = logging.getLogger("credit_models.tune")

SEARCH_TYPES = ("float", "int", "categorical")
DIMENSION_FIELDS = frozenset(SearchDimension.__dataclass_fields__)
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
    dimensions = {}
    for name, spec in space.items():
        where = f"tuning.space.{name}"
        if name not in model_params:
            raise ConfigError(
                f"{where}: {name!r} is not a key of model.params {sorted(model_params)}; add it "
                f"to the model config (e.g. +model.params.{name}=…) or pick the tuning option of "
                f"this model (tuning=scorecard for model=scorecard)"
            )
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where} must be a mapping of {sorted(DIMENSION_FIELDS)}; got "
                              f"{spec!r}")
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
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, int | float)):
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
            dimensions[name] = Dimension(name, kind, choices=tuple(choices))
            continue
        if choices:
            raise ConfigError(f"{where}: choices apply to type categorical, not {kind}")
        if low is None or high is None:
            raise ConfigError(f"{where}: type {kind} needs low and high; got low={low}, "
                              f"high={high}")
        if low >= high:
            raise ConfigError(f"{where}: low ({low}) must be below high ({high})")
        if log and low <= 0:
            raise ConfigError(f"{where}: log=true samples on a log scale and needs low > 0; "
                              f"got low={low}")
        if kind == "int" and (low != int(low) or high != int(high)):
            raise ConfigError(f"{where}: type int needs whole low and high; got {low}, {high}")
        dimensions[name] = Dimension(name, kind, float(low), float(high), log)
    return dimensions


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
class TuningResult:
    parent_run_id: str
    best_trial_run_id: str
    best_run_id: str
    best_trial: int
    best_params: dict[str, Any]
    best_value: float
    baseline_value: float | None
    """The metric of trial 0 with the configured params (when ``tuning.baseline_trial``)."""
    metric: str
    trials_complete: int
    trials_failed: int
    metrics: dict[str, float]
    """The refitted best model's metrics (every split, and the oracle on simulated data)."""
    tracking_uri: str
    registered_version: str | None
    test_split: str
    seconds: float


def run_tuning(cfg: DictConfig) -> TuningResult:
    """The whole job; returns the parent run, the best trial and the refitted best model."""
    started = time.perf_counter()
    tracking_uri = resolve_tracking_uri(cfg.mlflow.tracking_uri, Path.cwd())
    tuning = cfg.tuning

    def stage(message: str, *args: Any) -> None:
        logger.info("[%6.1fs] " + message, time.perf_counter() - started, *args)

    # Everything is checked before any data are read: a bad setting fails in a second.
    model_config = OmegaConf.to_container(cfg.model, resolve=True, enum_to_str=True)
    base_settings = ModelSettings.from_config(model_config)
    base_params = dict(model_config["params"])
    space = search_space(OmegaConf.to_container(tuning.space, resolve=True), base_params)
    if tuning.n_trials < 1:
        raise ConfigError(f"tuning.n_trials must be at least 1; got {tuning.n_trials}")
    direction = tuning.direction.value
    selector = SelectionConfig(**OmegaConf.to_container(cfg.selection)).build()
    splitter = build_splitter(OmegaConf.to_container(cfg.split, enum_to_str=True), cfg.seed)
    check_calibration_split(base_settings, splitter.periods)
    check_tuning_metric(tuning.metric, direction, splitter)

    data = assemble_training_data(cfg, stage)
    table = modelling_table(data, selector, cfg.select_features,
                            SensitiveAttributes.from_config(cfg.fairness))
    report = table.selection_report
    stage("feature selection (once for all trials): %d of %d features kept%s",
          int(report["kept"].sum()), len(report),
          "" if cfg.select_features else "; training on all (select_features=false)")

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(cfg.mlflow.experiment_name)
    common_tags = {
        "model_family": "pd",
        "model_kind": base_settings.family.value,
        "model_name": str(cfg.model.name),
        "label": data.label_name,
        "data_source": data.dataset.manifest.source,
        "test_split": data.splitter.evaluation_split,
        **code_version(PACKAGE_DIR),
    }
    trial_metrics: dict[int, dict[str, float]] = {}
    optuna.logging.set_verbosity(optuna.logging.ERROR)   # the job reports each trial itself

    def objective(trial: optuna.Trial) -> float:
        trial_started = time.perf_counter()
        params = {**base_params, **{name: dim.suggest(trial) for name, dim in space.items()}}
        try:
            with mlflow.start_run(run_name=f"trial-{trial.number}", nested=True) as run:
                trial.set_user_attr("run_id", run.info.run_id)
                mlflow.set_tags({**common_tags, "tuning": "trial",
                                 "trial_number": str(trial.number)})
                mlflow.log_params(flatten_params({"model": {"params": params}}))
                try:
                    settings = ModelSettings.from_config({**model_config, "params": params})
                    evaluated = fit_and_evaluate(table, settings, cfg.seed, data)
                    metrics = _run_metrics(evaluated)
                    metrics["trial/seconds"] = time.perf_counter() - trial_started
                    mlflow.log_metrics(metrics)
                    if tuning.metric not in metrics:
                        raise ConfigError(
                            f"tuning.metric={tuning.metric} is not among a trial's metrics "
                            f"{sorted(metrics)}"
                        )
                    value = metrics[tuning.metric]
                    if not math.isfinite(value):
                        raise TrainingDataError(f"{tuning.metric} is {value}")
                except Exception as error:
                    mlflow.set_tag("error", f"{type(error).__name__}: {error}"[:5000])
                    mlflow.log_text(traceback.format_exc(), "error.txt")
                    raise
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
        position = f"trial-{trial.number} ({trial.number + 1}/{tuning.n_trials})"
        seconds = trial.user_attrs.get("seconds", float("nan"))
        if trial.state is not optuna.trial.TrialState.COMPLETE:
            stage("%s FAILED after %.1fs: %s", position, seconds, trial.user_attrs.get("error"))
            return
        best = study.best_trial
        stage("%s: %s %.4f | best %.4f (trial-%d) | %.1fs | %s", position, tuning.metric,
              trial.value, best.value, best.number, seconds, _format_params(trial.params))

    with mlflow.start_run(run_name=f"tune-{cfg.model.name}") as parent:
        mlflow.set_tags({**common_tags, "tuning": "parent", "tuning_metric": tuning.metric})
        mlflow.log_params(flatten_params(
            {"tuning": OmegaConf.to_container(tuning, resolve=True, enum_to_str=True)}
        ))
        mlflow.log_text(OmegaConf.to_yaml(cfg, resolve=True), "config/resolved_config.yaml")
        study = optuna.create_study(
            study_name=f"tune-{cfg.model.name}", direction=direction,
            sampler=optuna.samplers.TPESampler(seed=tuning.sampler_seed),
        )
        if tuning.baseline_trial:
            baseline = {name: base_params[name] for name in space}
            outside = [f"{name}={value}" for name, value in baseline.items()
                       if not space[name].contains(value)]
            if outside:
                logger.warning("trial-0 (the configured params) is outside tuning.space: %s",
                               ", ".join(outside))
            study.enqueue_trial(baseline)
        stage("study: %d trials of %d parameters, %s %s, TPE seed %d%s", tuning.n_trials,
              len(space), direction, tuning.metric, tuning.sampler_seed,
              f", at most {tuning.timeout_s:g}s" if tuning.timeout_s else "")
        study.optimize(objective, n_trials=tuning.n_trials, timeout=tuning.timeout_s,
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
                           "; ".join(f"trial-{t.number}: {t.user_attrs.get('error')}"
                                     for t in failed))
        best = study.best_trial
        mlflow.log_params({f"best.{name}": value for name, value in best.params.items()})
        mlflow.log_metrics({
            **trial_metrics[best.number],
            "tuning/trials_complete": float(len(complete)),
            "tuning/trials_failed": float(len(failed)),
            "tuning/best_trial": float(best.number),
        })
        mlflow.set_tags({"best_trial_run_id": best.user_attrs["run_id"],
                         "best_trial": f"trial-{best.number}"})
        mlflow.log_text(trials_table(study).to_csv(index=False), "tuning/trials.csv")
        for path, figure in study_plots(study, tuning.metric, tuning.sampler_seed).items():
            # Optuna's plots put long parameter names and the legend outside the axes.
            mlflow.log_figure(figure, path, save_kwargs={"bbox_inches": "tight", "dpi": 110})
            plt.close(figure)
        stage("best: trial-%d, %s %.4f of %d complete trials (%d failed); refitting it",
              best.number, tuning.metric, best.value, len(complete), len(failed))

        best_params = {**base_params, **best.params}
        best_cfg = best_config(cfg, best_params)
        evaluated = fit_and_evaluate(
            table, ModelSettings.from_config({**model_config, "params": best_params}), cfg.seed,
            data,
        )
        refit_value = evaluated.metrics.get(tuning.metric, math.nan)
        if not math.isclose(refit_value, best.value, rel_tol=1e-9, abs_tol=1e-12):
            logger.warning("the refitted best model gives %s %.6f, its trial gave %.6f: the fit "
                           "is not deterministic (threads?)", tuning.metric, refit_value,
                           best.value)
        oracle = oracle_metrics(data, table.split)
        logged = log_pd_run(best_cfg, data, table, evaluated, oracle, run_name="best",
                            nested=True, register=cfg.mlflow.register)
        MlflowClient().set_tag(logged.run_id, "tuning", "best")
        mlflow.set_tags({"best_run_id": logged.run_id,
                         **({"registered_version": logged.registered_version}
                            if logged.registered_version else {})})
        parent_id = parent.info.run_id
    seconds = time.perf_counter() - started
    stage("MLflow parent run %s logged; the refitted best is its child run %s%s", parent_id,
          logged.run_id,
          f"; registered {cfg.mlflow.registered_model_name} version {logged.registered_version}"
          if logged.registered_version else "")
    baseline_value = (study.trials[0].value if tuning.baseline_trial
                      and study.trials[0].state is optuna.trial.TrialState.COMPLETE else None)
    return TuningResult(
        parent_run_id=parent_id, best_trial_run_id=best.user_attrs["run_id"],
        best_run_id=logged.run_id, best_trial=best.number, best_params=dict(best.params),
        best_value=float(best.value), baseline_value=baseline_value, metric=tuning.metric,
        trials_complete=len(complete), trials_failed=len(failed),
        metrics={**evaluated.metrics, **oracle}, tracking_uri=tracking_uri,
        registered_version=logged.registered_version,
        test_split=data.splitter.evaluation_split, seconds=seconds,
    )


def _run_metrics(evaluated: EvaluatedModel) -> dict[str, float]:
    return {**evaluated.metrics, **{
        f"fit/{key}": float(value) for key, value in evaluated.model.summary().items()
        if isinstance(value, int | float)
    }}


def _format_params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
                     for name, value in params.items())


def best_config(cfg: DictConfig, params: Mapping[str, Any]) -> DictConfig:
    """The train job's config with the best ``model.params``: the refitted model's run reads like
    a training run (same parameter names), so the compare view lines it up with them."""
    plain = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    plain.pop("tuning", None)
    plain["model"]["params"] = dict(params)
    return OmegaConf.create(plain)


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value, parameters, seconds, child run id, error."""
    table = study.trials_dataframe(attrs=("number", "state", "value", "duration", "params",
                                          "user_attrs"))
    table = table.rename(columns=lambda name: name.removeprefix("user_attrs_"))
    if "duration" in table:     # the trial as Optuna timed it (the job's own "seconds" is dropped)
        table["seconds"] = table.pop("duration").dt.total_seconds()
    return table


def study_plots(study: optuna.Study, metric: str, seed: int) -> dict[str, Figure]:
    """The optimisation history and the parameter importances (fANOVA) as figures; Optuna's
    matplotlib plots, or plain ones when those fail."""
    figures: dict[str, Figure] = {}
    complete = [trial for trial in study.trials
                if trial.state is optuna.trial.TrialState.COMPLETE]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            axes = optuna.visualization.matplotlib.plot_optimization_history(
                study, target_name=metric)
            figures["tuning/optimization_history.png"] = axes.figure
        except Exception as error:  # noqa: BLE001 - a failed plot must never lose the study
            logger.warning("Optuna's history plot failed (%s); drawing a plain one", error)
            figures["tuning/optimization_history.png"] = _history_figure(study, metric)
        if len(complete) < 2:
            logger.warning("parameter importances need at least 2 complete trials; skipped")
            return figures
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
        try:
            axes = optuna.visualization.matplotlib.plot_param_importances(
                study, evaluator=evaluator, target_name=metric)
            figures["tuning/param_importances.png"] = axes.figure
        except Exception as error:  # noqa: BLE001
            logger.warning("Optuna's importance plot failed (%s); drawing a plain one", error)
            try:
                importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
            except Exception as again:  # noqa: BLE001
                logger.warning("parameter importances failed (%s); skipped", again)
                return figures
            figures["tuning/param_importances.png"] = _importance_figure(importances, metric)
    return figures


def _history_figure(study: optuna.Study, metric: str) -> Figure:
    complete = [trial for trial in study.trials
                if trial.state is optuna.trial.TrialState.COMPLETE]
    numbers = [trial.number for trial in complete]
    values = pd.Series([trial.value for trial in complete], dtype=float)
    best = values.cummax() if study.direction is optuna.study.StudyDirection.MAXIMIZE \
        else values.cummin()
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.scatter(numbers, values, label=metric)
    axes.step(numbers, best, where="post", color="tab:red", label="best so far")
    axes.set(xlabel="trial", ylabel=metric, title="Optimisation history")
    axes.legend()
    figure.tight_layout()
    return figure


def _importance_figure(importances: Mapping[str, float], metric: str) -> Figure:
    names = list(importances)[::-1]
    figure, axes = plt.subplots(figsize=(7, 0.4 * len(names) + 1.5))
    axes.barh(names, [importances[name] for name in names])
    axes.set(xlabel=f"importance for {metric} (fANOVA)", title="Hyper-parameter importances")
    figure.tight_layout()
    return figure


def summary_lines(result: TuningResult) -> str:
    """What the console shows at the end: the best trial against the configured params, the
    refitted best model's test metrics, and where to look."""
    test, metrics = result.test_split, result.metrics
    trials = f"{result.trials_complete} complete trials" + (
        f" ({result.trials_failed} failed)" if result.trials_failed else "")
    lines = [
        "",
        f"Best of {trials}: {result.metric} {result.best_value:.4f} (trial-{result.best_trial})"
        + (f" vs {result.baseline_value:.4f} with the configured params (trial-0)"
           if result.baseline_value is not None else ""),
        "  " + _format_params(result.best_params),
        f"Refitted best: {test.upper()} AUC {metrics[f'{test}/auc']:.4f} | "
        f"KS {metrics[f'{test}/ks']:.4f} | ECE {metrics[f'{test}/ece']:.4f}"
        + (f" | oracle AUC {metrics[f'{test}/oracle_auc']:.4f}"
           if f"{test}/oracle_auc" in metrics else ""),
        f"MLflow parent run {result.parent_run_id}: trials are its child runs trial-<n>, the "
        f"refitted best model the child run 'best' ({result.best_run_id})"
        + (f", registered version {result.registered_version}" if result.registered_version
           else ""),
        f"Look at it with:  mlflow ui --backend-store-uri {result.tracking_uri}",
        "",
    ]
    return "\n".join(lines)


register_configs()


@job_entry("tune")
def main(cfg: DictConfig) -> float:
    result = run_tuning(cfg)
    print(summary_lines(result))
    return result.best_value


if __name__ == "__main__":
    main()
