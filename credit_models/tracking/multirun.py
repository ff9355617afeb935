"""Hydra multirun → one parent MLflow run with each job as a child run.

`credit-models-train -m model.params.max_depth=3,5` starts a sweep; :class:`MlflowParentRun`,
registered under ``hydra.callbacks`` in ``conf/train.yaml``, opens the parent run before the first
job and exports its id in :data:`PARENT_RUN_ENV`; each job's run is then started under it (the
train job reads the variable). At the end of the sweep the parent is ended FINISHED, or FAILED
when a job failed. Hydra does not call ``on_multirun_end`` when a job raised (the sweep stops with
the job's error), so the parent is also ended FAILED when the process exits with it still open:
a failed sweep never leaves a parent run that looks alive.
"""

from __future__ import annotations

import atexit
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from credit_models.tracking.mlflow_tracking import resolve_tracking_uri, set_telemetry
from credit_models.tracking.store import prepare_store

if TYPE_CHECKING:
    from mlflow import MlflowClient

logger = logging.getLogger(__name__)

PARENT_RUN_ENV = "CREDIT_MODELS_PARENT_RUN_ID"
"""The parent run's id, set for the jobs of a sweep."""


def parent_run_id() -> str | None:
    """The sweep's parent run, when this process runs a job of a Hydra multirun."""
    return os.environ.get(PARENT_RUN_ENV) or None


class MlflowParentRun(Callback):
    """Opens the sweep's parent run, hands its id to the jobs, and ends it with the sweep's
    outcome."""

    def __init__(self, run_name_prefix: str = "sweep") -> None:
        self.run_name_prefix = run_name_prefix
        self._client: MlflowClient | None = None
        self._run_id: str | None = None
        self._failed_jobs: list[str] = []

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # MLflow loads when a sweep starts, not when Hydra builds this callback for every run.
        from mlflow import MlflowClient
        from mlflow.entities import RunStatus

        # ${hydra:…} resolves only once Hydra's own config is set (it is not yet, here).
        HydraConfig.instance().set_config(config)
        tracking_uri = resolve_tracking_uri(config.mlflow.tracking_uri, Path.cwd())
        set_telemetry(bool(OmegaConf.select(config, "mlflow.telemetry", default=False)))
        prepare_store(tracking_uri)         # the parent run is the sweep's first write
        self._client = MlflowClient(tracking_uri=tracking_uri)
        name = config.mlflow.experiment_name
        experiment = self._client.get_experiment_by_name(name)
        experiment_id = (experiment.experiment_id if experiment is not None
                         else self._client.create_experiment(name))
        sweep_dir = str(config.hydra.sweep.dir)
        overrides = " ".join(OmegaConf.to_container(config.hydra.overrides.task, resolve=True))
        run = self._client.create_run(
            experiment_id,
            run_name=f"{self.run_name_prefix}-{Path(sweep_dir).name}",
            tags={"tuning": "parent", "sweep": "hydra_multirun", "sweep_dir": sweep_dir,
                  "sweep_overrides": overrides[:5000], "model_family": "pd"},
        )
        self._run_id = run.info.run_id
        os.environ[PARENT_RUN_ENV] = self._run_id
        atexit.register(self._end_if_open, RunStatus.to_string(RunStatus.FAILED))
        logger.info("multirun parent MLflow run %s (experiment %s, %s)", self._run_id, name,
                    tracking_uri)

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        # Called in this process by the basic launcher; launchers running jobs elsewhere are
        # covered by the child runs' statuses at the end.
        if job_return.status is JobStatus.FAILED:
            self._failed_jobs.append(" ".join(job_return.overrides or []))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self._client is None or self._run_id is None:
            return
        children = self._client.search_runs(
            [self._client.get_run(self._run_id).info.experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{self._run_id}'",
        )
        failed = self._failed_jobs or [run.info.run_id for run in children
                                       if run.info.status == "FAILED"]
        status = "FAILED" if failed else "FINISHED"
        self._client.set_tag(self._run_id, "sweep_children", str(len(children)))
        if failed:
            logger.error("multirun: %d job(s) failed: %s", len(failed), failed)
        self._end_if_open(status)

    def _end_if_open(self, status: str) -> None:
        run_id, client = self._run_id, self._client
        if run_id is None or client is None:
            return
        self._run_id = None
        os.environ.pop(PARENT_RUN_ENV, None)
        client.set_terminated(run_id, status=status)
