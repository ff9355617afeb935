"""`credit-models-tune`: hyper-parameter search with Optuna over the train job's data and model.

The data, features, split and feature selection are built once; each trial fits and evaluates the
PD model with its own ``model.params`` (the train job's computation) and is logged as a child
MLflow run (``trial-<n>``) under one parent run, which ends up carrying the best trial, the
trials table and the optimisation plots; the best configuration is refitted and logged in full as
the child run ``best`` (registered when ``mlflow.register``). The study itself is
:mod:`credit_models.workflows.tuning`; its MLflow runs are :mod:`credit_models.tracking.tuning_run`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from credit_models.jobs.runner import job_entry, task_overrides
from credit_models.tracking.mlflow_tracking import (
    open_experiment,
    resolve_tracking_uri,
    ui_command,
)
from credit_models.workflows.settings import TuneSettings

logger = logging.getLogger("credit_models.tune")


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
    duplicate_of: str | None = None
    """The registered version with the best config on the same data (nothing registered)."""


def run_tuning(settings: TuneSettings, cfg: DictConfig) -> TuningResult:
    """The whole job on its settings (``cfg``, the config they were built from, is logged with
    the runs); returns the parent run, the best trial and the refitted best model."""
    # The stack the job runs on is imported here, not with the module: a config error answers
    # before it loads.

    from credit_models.tracking.pd_run import pd_run_tags
    from credit_models.tracking.run_summary import run_name
    from credit_models.tracking.tuning_run import best_config, tuning_parent_run
    from credit_models.workflows.pd_training import prepare_pd_training, timed_stage
    from credit_models.workflows.tuning import tune_pd_model

    started, stage = time.perf_counter(), timed_stage(logger)
    study_settings = settings.study
    tracking_uri = resolve_tracking_uri(settings.mlflow.tracking_uri, Path.cwd())
    resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    prepared = prepare_pd_training(settings, stage)

    open_experiment(settings.mlflow.tracking_uri, settings.mlflow.experiment_name)
    tags = pd_run_tags(settings.model, prepared.data)
    name = run_name(["tune", settings.model.name, prepared.data.label_name,
                     prepared.data.dataset.path.name], task_overrides())
    with tuning_parent_run(name, tags, study_settings.metric, resolved) as parent:
        study = tune_pd_model(prepared, settings, study_settings, track_trial=parent.trial,
                              stage=stage)
        parent.log_study(study, study_settings.metric, study_settings.sampler_seed)
        logged = parent.log_best(study, best_config(resolved, study.model_params),
                                 settings.mlflow)
    stage("MLflow parent run %s logged; the refitted best is its child run %s%s", parent.run_id,
          logged.run_id,
          f"; registered {settings.mlflow.registered_model_name} version "
          f"{logged.registered_version}" if logged.registered_version else "")
    return TuningResult(
        parent_run_id=parent.run_id, best_trial_run_id=study.best_trial_run_id,
        best_run_id=logged.run_id, best_trial=study.best_trial, best_params=study.best_params,
        best_value=study.best_value, baseline_value=study.baseline_value,
        metric=study_settings.metric, trials_complete=study.trials_complete,
        trials_failed=study.trials_failed, metrics=study.refitted.metrics,
        tracking_uri=tracking_uri, registered_version=logged.registered_version,
        test_split=study.refitted.test_split, seconds=time.perf_counter() - started,
        duplicate_of=logged.duplicate_of,
    )


def summary_lines(result: TuningResult) -> str:
    """What the console shows at the end: the best trial against the configured params, the
    refitted best model's test metrics, and where to look."""
    from credit_models.workflows.tuning import format_params

    test, metrics = result.test_split, result.metrics
    trials = f"{result.trials_complete} complete trials" + (
        f" ({result.trials_failed} failed)" if result.trials_failed else "")
    lines = [
        "",
        f"Best of {trials}: {result.metric} {result.best_value:.4f} (trial-{result.best_trial})"
        + (f" vs {result.baseline_value:.4f} with the configured params (trial-0)"
           if result.baseline_value is not None else ""),
        "  " + format_params(result.best_params),
        f"Refitted best: {test.upper()} AUC {metrics[f'{test}/auc']:.4f} | "
        f"KS {metrics[f'{test}/ks']:.4f} | ECE {metrics[f'{test}/ece']:.4f}"
        + (f" | oracle AUC {metrics[f'{test}/oracle_auc']:.4f}"
           if f"{test}/oracle_auc" in metrics else ""),
        f"MLflow parent run {result.parent_run_id}: trials are its child runs trial-<n>, the "
        f"refitted best model the child run 'best' ({result.best_run_id})"
        + (f", registered version {result.registered_version}" if result.registered_version
           else "")
        + (f"; not registered: version {result.duplicate_of} has the same config on the same "
           f"data" if result.duplicate_of else ""),
        f"Look at it with:  {ui_command(result.tracking_uri)}",
        "",
    ]
    return "\n".join(lines)


@job_entry("tune")
def main(settings: TuneSettings, cfg: DictConfig) -> float:
    result = run_tuning(settings, cfg)
    print(summary_lines(result))
    return result.best_value


if __name__ == "__main__":
    main()
