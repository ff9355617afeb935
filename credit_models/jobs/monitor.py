"""`credit-models-monitor`: compare a new batch of feature rows with the registered model's training
data, write the checks, an HTML report and plots to a folder, log them to a monitoring MLflow run,
and exit with status 3 when any check crosses its threshold (0 otherwise).

The reference is the training run's own feature matrix (``features/feature_matrix.parquet`` when
the run logged it, else rebuilt from its ``features/matrix_reference.json`` and checked against
the fingerprint there; rows of ``monitoring.reference_split``), so the batch is compared with exactly what the model was
developed on; both are scored with the model. The measurements are plain functions in
:mod:`credit_models.evaluation.monitoring`; this module reads, scores, writes and logs.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import mlflow
import pandas as pd
import pyarrow.parquet as pq
from mlflow import MlflowClient
from omegaconf import DictConfig, OmegaConf

from credit_models.config.schema import register_configs
from credit_models.evaluation.monitoring import (
    CHECK_COLUMNS,
    MonitoringResult,
    MonitoringThresholds,
    build_monitoring_report,
    monitor_batch,
    monitoring_figures,
)
from credit_models.jobs.runner import job_entry
from credit_models.jobs.score import parquet_files
from credit_models.tracking.mlflow_tracking import flatten_params, resolve_tracking_uri
from credit_models.tracking.model_loading import (
    ModelLoadingError,
    ResolvedModel,
    conform_inputs,
    input_column_types,
    load_pd_model,
)
from credit_models.tracking.training_rows import (
    TrainingRowsError,
    training_rows_file,
)

logger = logging.getLogger("credit_models.monitor")

SPLIT_COLUMN = "split"
ALERT_EXIT_CODE = 3
"""Exit status of `credit-models-monitor` when a check crossed its threshold."""
REPORT_FILE = "monitoring_report.html"


class MonitoringInputError(ValueError):
    """The batch or the training reference cannot be monitored; the message says what is
    missing."""


@dataclass(frozen=True)
class MonitoringRun:
    result: MonitoringResult
    model: ResolvedModel
    output_dir: Path
    run_id: str | None

    @property
    def exit_code(self) -> int:
        return ALERT_EXIT_CODE if len(self.result.alerts) else 0


def reference_metric(client: MlflowClient, run_id: str) -> tuple[str | None, float | None]:
    """The training run's test AUC: ``<test_split>/auc`` (the run's ``test_split`` tag), else
    ``oot/auc`` or ``test/auc``."""
    run = client.get_run(run_id)
    tagged = run.data.tags.get("test_split")
    for name in ([f"{tagged}/auc"] if tagged else []) + ["oot/auc", "test/auc"]:
        if name in run.data.metrics:
            return name, float(run.data.metrics[name])
    return None, None


def read_reference(client: MlflowClient, run_id: str, features: list[str], split: str,
                   scratch: Path) -> pd.DataFrame:
    """The rows of ``split`` of the training run's feature matrix (logged, or rebuilt from the
    run's matrix reference), model features only."""
    try:
        path = training_rows_file(client, run_id, scratch)
    except TrainingRowsError as error:
        raise MonitoringInputError(f"no training rows to compare with: {error}") from error
    names = pq.read_schema(path).names
    absent = [name for name in [*features, SPLIT_COLUMN] if name not in names]
    if absent:
        raise MonitoringInputError(
            f"the training rows of run {run_id} lack column(s) {absent[:10]}"
        )
    reference = pq.read_table(path, columns=features, filters=[(SPLIT_COLUMN, "=", split)])
    if reference.num_rows == 0:
        splits = pq.read_table(path, columns=[SPLIT_COLUMN]).column(0).unique().to_pylist()
        raise MonitoringInputError(
            f"the training rows of run {run_id} have no rows of split {split!r}; their "
            f"splits: {sorted(map(str, splits))}"
        )
    return reference.to_pandas()


def read_batch(path: Path, features: list[str], label_column: str,
               month_column: str) -> pd.DataFrame:
    """The batch's model features, and its label and month columns when present."""
    files = parquet_files(path)
    names = set(pq.read_schema(files[0]).names)
    for file in files[1:]:
        names &= set(pq.read_schema(file).names)
    absent = [name for name in features if name not in names]
    if absent:
        raise MonitoringInputError(
            f"the batch {path} lacks {len(absent)} model feature(s): {absent[:20]}"
            + (" …" if len(absent) > 20 else "")
        )
    extra = [name for name in (label_column, month_column) if name in names]
    frame = pd.concat(
        [pq.read_table(file, columns=[*features, *extra]).to_pandas() for file in files],
        ignore_index=True,
    )
    if frame.empty:
        raise MonitoringInputError(f"the batch {path} has no rows")
    return frame


def run_monitoring(cfg: DictConfig) -> MonitoringRun:
    """The whole job; returns the result and where it was written."""
    tracking_uri = resolve_tracking_uri(cfg.mlflow.tracking_uri, Path.cwd())
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient()
    settings = OmegaConf.to_container(cfg.monitoring, resolve=True)
    thresholds = MonitoringThresholds.from_config(settings)    # checked before any work
    model, resolved = load_pd_model(cfg.model_uri, client)
    if resolved.run_id is None:
        raise ModelLoadingError(
            f"{cfg.model_uri}: monitoring needs the model's training run (its feature matrix); "
            "give a models:/ or runs:/ URI"
        )
    types = input_column_types(model)
    features = list(types)
    batch = read_batch(Path(cfg.input), features, cfg.label_column, cfg.month_column)
    with tempfile.TemporaryDirectory() as scratch:
        reference = read_reference(client, resolved.run_id, features,
                                   settings["reference_split"], Path(scratch))
    metric_name, reference_auc = reference_metric(client, resolved.run_id)
    logger.info("monitoring %s rows against %s %s rows of run %s", f"{len(batch):,}",
                f"{len(reference):,}", settings["reference_split"], resolved.run_id)

    reference_inputs = conform_inputs(reference, types)
    batch_inputs = conform_inputs(batch, types)
    reference_scored = model.predict(reference_inputs)
    batch_scored = model.predict(batch_inputs)
    labelled = cfg.label_column in batch and cfg.month_column in batch
    if cfg.label_column in batch and not labelled:
        logger.warning("the batch has %s but no %s: performance by month not checked",
                       cfg.label_column, cfg.month_column)
    result = monitor_batch(
        reference_inputs, reference_scored["score"], batch_inputs, batch_scored["score"],
        features, thresholds,
        is_bad=batch[cfg.label_column] if labelled else None,
        probability=batch_scored["probability_of_default"] if labelled else None,
        as_of=batch[cfg.month_column] if labelled else None,
        reference_auc=reference_auc,
    )
    details = {
        "Model URI": f"{resolved.uri} → {resolved.load_uri}",
        "Training run": resolved.run_id,
        "Reference": f"split {settings['reference_split']} of the training run's feature matrix",
        "Reference AUC": (f"{reference_auc:.4f} ({metric_name})" if reference_auc is not None
                          else "unknown"),
        "Batch": str(cfg.input),
    }
    output_dir = Path(cfg.output_dir)
    written = write_outputs(result, thresholds, output_dir, resolved, details,
                            int(settings["top_features"]))
    run_id = None
    if cfg.mlflow.log_run:
        run_id = log_monitoring_run(cfg, result, resolved, written, output_dir)
    return MonitoringRun(result, resolved, output_dir, run_id)


def write_outputs(result: MonitoringResult, thresholds: MonitoringThresholds, output_dir: Path,
                  resolved: ResolvedModel, details: dict[str, str], top: int) -> list[Path]:
    """The tables (CSV), plots (PNG) and report (HTML) in ``output_dir``; returns the files."""
    (output_dir / "plots").mkdir(parents=True, exist_ok=True)
    tables = {"checks.csv": result.checks, "score_stability.csv": result.score_stability,
              "feature_stability.csv": result.drift}
    if result.performance is not None:
        tables["performance_by_month.csv"] = result.performance
    written = []
    for name, table in tables.items():
        table.to_csv(output_dir / name, index=False)
        written.append(output_dir / name)
    figures = monitoring_figures(result, thresholds, top)
    for name, figure in figures.items():
        path = output_dir / "plots" / f"{name}.png"
        figure.savefig(path, dpi=100)
        written.append(path)
    report = build_monitoring_report(result, figures, model_label=resolved.label,
                                     details=details)
    for figure in figures.values():
        plt.close(figure)
    (output_dir / REPORT_FILE).write_text(report, encoding="utf-8")
    written.append(output_dir / REPORT_FILE)
    return written


def log_monitoring_run(cfg: DictConfig, result: MonitoringResult, resolved: ResolvedModel,
                       files: list[Path], output_dir: Path) -> str:
    """One MLflow run (tag ``run_kind=monitoring``) with the metrics and every written file."""
    mlflow.set_experiment(cfg.mlflow.experiment_name)
    tags: dict[str, Any] = {
        "run_kind": "monitoring",
        "model_uri": resolved.uri,
        "training_run_id": resolved.run_id,
        "alerts": str(len(result.alerts)),
        "status": "alert" if len(result.alerts) else "ok",
    }
    if resolved.name:
        tags.update(model_name=resolved.name, model_version=resolved.version)
    with mlflow.start_run(run_name=f"monitor {resolved.label}") as run:
        mlflow.set_tags(tags)
        mlflow.log_params(flatten_params({
            "model_uri": cfg.model_uri, "input": cfg.input,
            "monitoring": OmegaConf.to_container(cfg.monitoring, resolve=True),
        }))
        mlflow.log_metrics(result.metrics())
        for path in files:
            folder = path.parent.relative_to(output_dir).as_posix()
            mlflow.log_artifact(str(path), None if folder == "." else folder)
    return run.info.run_id


def alert_lines(run: MonitoringRun) -> str:
    """What the console shows at the end: the alerts (or that there are none) and where to look."""
    result, alerts = run.result, run.result.alerts
    lines = [""]
    if len(alerts):
        lines.append(f"ALERT: {len(alerts)} of {len(result.checks)} checks crossed their "
                     f"threshold ({run.model.label}):")
        lines += ["  " + line for line in
                  alerts[list(CHECK_COLUMNS)].to_string(index=False, float_format="{:.4f}".format)
                  .splitlines()]
    else:
        lines.append(f"OK: all {len(result.checks)} checks within their thresholds "
                     f"({run.model.label}).")
    lines += [*(f"Note: {note}" for note in result.notes),
              f"Report: {run.output_dir / REPORT_FILE}"]
    if run.run_id:
        lines.append(f"MLflow monitoring run {run.run_id}")
    return "\n".join(lines) + "\n"


register_configs()


@job_entry("monitor", data_errors=(MonitoringInputError,))
def main(cfg: DictConfig) -> None:
    run = run_monitoring(cfg)
    print(alert_lines(run))
    if run.exit_code:
        sys.exit(run.exit_code)


if __name__ == "__main__":
    main()
