"""`credit-models-train`: data → snapshots → labels → features → split → PD model (XGBoost or
WoE scorecard) → calibration → metrics → MLflow run and registered version.

The job only wires: config → settings → the training workflow → the tracked run → the console.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from credit_models.jobs.runner import job_entry, task_overrides
from credit_models.tracking.mlflow_tracking import resolve_tracking_uri, ui_command
from credit_models.workflows.settings import TrainSettings

logger = logging.getLogger("credit_models.train")


@dataclass(frozen=True)
class TrainingResult:
    run_id: str
    metrics: dict[str, float]
    tracking_uri: str
    registered_version: str | None
    test_split: str


def run_training(settings: TrainSettings, cfg: DictConfig) -> TrainingResult:
    """The whole job on its settings (``cfg``, the config they were built from, is logged with
    the run); returns the run id and metrics."""
    # The stack the job runs on is imported here, not with the module: a config error answers
    # before it loads.
    from credit_models.tracking.multirun import parent_run_id
    from credit_models.tracking.pd_run import log_pd_run
    from credit_models.workflows.pd_training import timed_stage, train_pd_model

    stage = timed_stage(logger)
    tracking_uri = resolve_tracking_uri(settings.mlflow.tracking_uri, Path.cwd())
    result = train_pd_model(settings, stage)
    # A job of a multirun sweep (`-m`) is a child of the sweep's parent run.
    logged = log_pd_run(result, OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
                        settings.mlflow, overrides=task_overrides(),
                        parent_run_id=parent_run_id())
    stage("MLflow run %s logged%s", logged.run_id,
          f"; registered {settings.mlflow.registered_model_name} version "
          f"{logged.registered_version}" if logged.registered_version else "")
    return TrainingResult(logged.run_id, result.metrics, tracking_uri, logged.registered_version,
                          result.test_split)


def summary_lines(result: TrainingResult) -> str:
    """What the console shows at the end: the test metrics and where to look."""
    test, metrics = result.test_split, result.metrics
    parts = [f"{test.upper()} AUC {metrics[f'{test}/auc']:.4f}", f"KS {metrics[f'{test}/ks']:.4f}",
             f"ECE {metrics[f'{test}/ece']:.4f}"]
    if f"{test}/oracle_auc" in metrics:
        parts.append(f"oracle AUC {metrics[f'{test}/oracle_auc']:.4f}")
    if "cv/auc_mean" in metrics:
        parts.append(f"CV AUC {metrics['cv/auc_mean']:.4f} ± {metrics['cv/auc_std']:.4f}")
    return (
        "\n" + " | ".join(parts)
        + f"\nMLflow run {result.run_id}"
        + (f", registered version {result.registered_version}" if result.registered_version
           else "")
        + f"\nLook at it with:  {ui_command(result.tracking_uri)}\n"
    )


@job_entry("train")
def main(settings: TrainSettings, cfg: DictConfig) -> float:
    result = run_training(settings, cfg)
    print(summary_lines(result))
    return result.metrics[f"{result.test_split}/auc"]


if __name__ == "__main__":
    main()
