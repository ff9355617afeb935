"""A tuning study in MLflow: one parent run carrying the study (``best.<param>`` params, the best
trial's metrics, ``best_trial_run_id``, the trials table and the optimisation plots), each trial
a child run ``trial-<n>``, and the refitted best model the child run ``best`` logged in full."""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import mlflow
from mlflow import MlflowClient

from credit_models.reporting.tuning_plots import study_plots
from credit_models.tracking.artifacts import log_figure
from credit_models.tracking.mlflow_tracking import flatten_params
from credit_models.tracking.pd_run import LoggedRun, config_yaml, log_pd_run
from credit_models.tracking.registry import versions_tagged
from credit_models.tracking.run_summary import config_digest
from credit_models.workflows.settings import MlflowSettings
from credit_models.workflows.tuning import StudyResult, TrialRecord


@dataclass
class _TrialRun:
    run_id: str

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        mlflow.log_metrics(dict(metrics))


@dataclass
class TuningParentRun:
    """The open parent run of a study; :meth:`trial` is the study's trial tracker."""

    run_id: str
    tags: dict[str, str]
    """The PD run tags every child carries too."""

    @contextmanager
    def trial(self, number: int, params: Mapping[str, Any]) -> Iterator[TrialRecord]:
        """A child run ``trial-<number>`` with its ``model.params``; a failure is tagged
        ``error`` with its traceback in ``error.txt`` and the run ends FAILED."""
        with mlflow.start_run(run_name=f"trial-{number}", nested=True) as run:
            mlflow.set_tags({**self.tags, "tuning": "trial", "trial_number": str(number)})
            mlflow.log_params(flatten_params({"model": {"params": dict(params)}}))
            try:
                yield _TrialRun(run.info.run_id)
            except Exception as error:
                mlflow.set_tag("error", f"{type(error).__name__}: {error}"[:5000])
                mlflow.log_text(traceback.format_exc(), "error.txt")
                raise

    def log_study(self, result: StudyResult, metric: str, seed: int) -> None:
        """The best trial, the trials table and the study's plots, on the parent."""
        mlflow.log_params({f"best.{name}": value for name, value in result.best_params.items()})
        mlflow.log_metrics({
            **result.best_metrics,
            "tuning/trials_complete": float(result.trials_complete),
            "tuning/trials_failed": float(result.trials_failed),
            "tuning/best_trial": float(result.best_trial),
        })
        mlflow.set_tags({"best_trial_run_id": str(result.best_trial_run_id),
                         "best_trial": f"trial-{result.best_trial}"})
        mlflow.log_text(result.trials.to_csv(index=False), "tuning/trials.csv")
        for path, figure in study_plots(result.study, metric, seed).items():
            # Optuna's plots put long parameter names and the legend outside the axes.
            log_figure(figure, path, dpi=110, tight=True)
            plt.close(figure)

    def log_best(self, result: StudyResult, resolved: dict[str, Any],
                 settings: MlflowSettings) -> LoggedRun:
        """The refitted best model as the child run ``best``, logged like a training run of
        ``resolved`` (the train job's config with the best ``model.params``), so the compare
        view lines it up with training runs. It is registered unless a version of the same
        config on the same data exists (the study found nothing better than what is
        registered): then the run names that version instead of making a duplicate."""
        client = MlflowClient()
        twins = (versions_tagged(client, settings.registered_model_name, {
            "config_digest": config_digest(resolved),
            "data_fingerprint": result.refitted.data.fingerprint["combined_sha256"]})
            if settings.register else [])
        logged = log_pd_run(result.refitted, resolved, settings, name="best", nested=True,
                            register=False if twins else None)
        client.set_tag(logged.run_id, "tuning", "best")
        mlflow.set_tags({"best_run_id": logged.run_id,
                         **({"registered_version": logged.registered_version}
                            if logged.registered_version else {}),
                         **({"duplicate_of_version": twins[-1]} if twins else {})})
        return LoggedRun(logged.run_id, logged.registered_version,
                         duplicate_of=twins[-1] if twins else None)


@contextmanager
def tuning_parent_run(
    run_name: str, tags: Mapping[str, str], metric: str, resolved: dict[str, Any]
) -> Iterator[TuningParentRun]:
    """The study's parent run: the PD tags, the ``tuning`` group as params and the resolved
    config; ended FAILED when the study raises."""
    with mlflow.start_run(run_name=run_name) as parent:
        mlflow.set_tags({**tags, "tuning": "parent", "tuning_metric": metric})
        mlflow.log_params(flatten_params({"tuning": resolved["tuning"]}))
        mlflow.log_text(config_yaml(resolved), "config/resolved_config.yaml")
        yield TuningParentRun(parent.info.run_id, dict(tags))


def best_config(resolved: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """The train job's config with the best ``model.params`` (no ``tuning`` group)."""
    plain = {key: value for key, value in resolved.items() if key != "tuning"}
    plain["model"] = {**plain["model"], "params": dict(params)}
    return plain
