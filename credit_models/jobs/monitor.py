"""`credit-models-monitor`: compare a new batch of feature rows with the registered model's training
data, write the checks, an HTML report and plots to a folder, log them to a monitoring MLflow run,
and exit with status 3 when any check crosses its threshold (0 otherwise).

The reference is the training run's own feature matrix (``features/feature_matrix.parquet`` when
the run logged it, else rebuilt from its ``features/matrix_reference.json`` and checked against
the fingerprint there; rows of ``monitoring.reference_split``), so the batch is compared with
exactly what the model was developed on; both are scored with the model. Reading and scoring are
:mod:`credit_models.workflows.monitoring`'s, the store and the run
:mod:`credit_models.tracking.monitoring_run`'s; this module reads the config and prints.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from credit_models.jobs.runner import job_entry
from credit_models.workflows.monitoring import (
    ALERT_EXIT_CODE,
    MonitoringInputError,
    MonitorSettings,
)

if TYPE_CHECKING:
    from credit_models.tracking.monitoring_run import MonitoringRun

__all__ = ["ALERT_EXIT_CODE", "main", "run_monitoring"]


def run_monitoring(settings: MonitorSettings) -> MonitoringRun:
    """The whole job on its settings; returns the result and where it was written."""
    # The stack the job runs on is imported here, not with the module: a config error answers
    # before it loads.
    from credit_models.tracking import monitoring_run
    from credit_models.tracking.model_loading import connect
    from credit_models.workflows.monitoring import monitor_training_rows

    client = connect(settings.mlflow.tracking_uri)
    with tempfile.TemporaryDirectory() as scratch:
        monitored = monitoring_run.load_monitored(client, settings, Path(scratch))
        result = monitor_training_rows(monitored.model, settings, monitored.training_rows,
                                       monitored.reference_auc)
    return monitoring_run.record_monitoring(settings, monitored, result)


@job_entry("monitor", data_errors=(MonitoringInputError,))
def main(settings: MonitorSettings, cfg: DictConfig) -> None:
    run = run_monitoring(settings)
    print(run.console_text())
    if run.exit_code:
        sys.exit(run.exit_code)


if __name__ == "__main__":
    main()
