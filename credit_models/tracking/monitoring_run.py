"""A monitoring run: the model and what its training run logged of its rows, read from the store;
the checks' result (:func:`credit_models.workflows.monitoring.monitor_training_rows`) written to a
folder as tables, plots and a report and logged to a monitoring MLflow run (tag
``run_kind=monitoring``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import mlflow
from mlflow import MlflowClient

from credit_models.evaluation.monitoring import CHECK_COLUMNS, MonitoringResult
from credit_models.reporting.html import figure_png
from credit_models.reporting.monitoring_report import build_monitoring_report, monitoring_figures
from credit_models.tracking.mlflow_tracking import flatten_params, use_experiment
from credit_models.tracking.model_loading import (
    LoadedModel,
    ModelLoadingError,
    ResolvedModel,
    load_pd_model,
)
from credit_models.tracking.training_rows import (
    LoggedTrainingRows,
    TrainingRowsError,
    logged_training_rows,
)
from credit_models.workflows.monitoring import (
    MonitoringExit,
    MonitoringInputError,
    MonitorSettings,
)

REPORT_FILE = "monitoring_report.html"


@dataclass(frozen=True)
class MonitoringRun:
    result: MonitoringResult
    model: ResolvedModel
    output_dir: Path
    run_id: str | None

    @property
    def exit_code(self) -> int:
        return (MonitoringExit.alert if len(self.result.alerts) else MonitoringExit.ok).value

    def console_text(self) -> str:
        """The alerts (or that there are none) and where to look."""
        result, alerts = self.result, self.result.alerts
        lines = [""]
        if len(alerts):
            lines.append(f"ALERT: {len(alerts)} of {len(result.checks)} checks crossed their "
                         f"threshold ({self.model.label}):")
            lines += ["  " + line for line in
                      alerts[list(CHECK_COLUMNS)].to_string(index=False,
                                                            float_format="{:.4f}".format)
                      .splitlines()]
        else:
            lines.append(f"OK: all {len(result.checks)} checks within their thresholds "
                         f"({self.model.label}).")
        lines += [*(f"Note: {note}" for note in result.notes),
                  f"Report: {self.output_dir / REPORT_FILE}"]
        if self.run_id:
            lines.append(f"MLflow monitoring run {self.run_id}")
        return "\n".join(lines) + "\n"


def reference_metric(client: MlflowClient, run_id: str) -> tuple[str | None, float | None]:
    """The training run's test AUC: ``<test_split>/auc`` (the run's ``test_split`` tag), else
    ``oot/auc`` or ``test/auc``."""
    run = client.get_run(run_id)
    tagged = run.data.tags.get("test_split")
    for name in ([f"{tagged}/auc"] if tagged else []) + ["oot/auc", "test/auc"]:
        if name in run.data.metrics:
            return name, float(run.data.metrics[name])
    return None, None


@dataclass(frozen=True)
class MonitoredModel:
    """The monitored model as the store holds it: loaded, with what its training run logged of
    its rows and the run's test AUC."""

    model: LoadedModel
    training_rows: LoggedTrainingRows
    metric_name: str | None
    reference_auc: float | None

    @property
    def resolved(self) -> ResolvedModel:
        return self.model.resolved


def load_monitored(client: MlflowClient, settings: MonitorSettings,
                   scratch: Path) -> MonitoredModel:
    """The model of ``settings.model_uri`` and its training run's rows (downloaded under
    ``scratch``) and test AUC."""
    model = load_pd_model(settings.model_uri, client)
    resolved = model.resolved
    if resolved.run_id is None:
        raise ModelLoadingError(
            f"{settings.model_uri}: monitoring needs the model's training run (its feature matrix); "
            "give a models:/ or runs:/ URI"
        )
    try:
        rows = logged_training_rows(client, resolved.run_id, scratch)
    except TrainingRowsError as error:
        raise MonitoringInputError(f"no training rows to compare with: {error}") from error
    metric_name, reference_auc = reference_metric(client, resolved.run_id)
    return MonitoredModel(model, rows, metric_name, reference_auc)


def record_monitoring(settings: MonitorSettings, monitored: MonitoredModel,
                      result: MonitoringResult) -> MonitoringRun:
    """The result's tables, plots and report in ``settings.output_dir``, and the monitoring run
    when ``mlflow.log_run``; returns the result and where it was written."""
    resolved, reference_auc = monitored.resolved, monitored.reference_auc
    details = {
        "Model URI": f"{resolved.uri} → {resolved.load_uri}",
        "Training run": resolved.run_id,
        "Reference": f"split {settings.monitoring.reference_split} of the training run's feature matrix",
        "Reference AUC": (f"{reference_auc:.4f} ({monitored.metric_name})"
                          if reference_auc is not None else "unknown"),
        "Batch": settings.input,
    }
    output_dir = Path(settings.output_dir)
    written = write_outputs(result, settings, output_dir, resolved, details)
    run_id = None
    if settings.mlflow.log_run:
        run_id = log_monitoring_run(settings, result, resolved, written, output_dir)
    return MonitoringRun(result, resolved, output_dir, run_id)


def write_outputs(result: MonitoringResult, settings: MonitorSettings, output_dir: Path,
                  resolved: ResolvedModel, details: dict[str, str]) -> list[Path]:
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
    figures = monitoring_figures(result, settings.monitoring, settings.monitoring.top_features)
    for name, figure in figures.items():
        path = output_dir / "plots" / f"{name}.png"
        path.write_bytes(figure_png(figure))
        written.append(path)
    report = build_monitoring_report(result, figures, model_label=resolved.label,
                                     details=details)
    for figure in figures.values():
        plt.close(figure)
    (output_dir / REPORT_FILE).write_text(report, encoding="utf-8")
    written.append(output_dir / REPORT_FILE)
    return written


def log_monitoring_run(settings: MonitorSettings, result: MonitoringResult,
                       resolved: ResolvedModel, files: list[Path], output_dir: Path) -> str:
    """One MLflow run (tag ``run_kind=monitoring``) with the metrics and every written file."""
    use_experiment(settings.mlflow.experiment_name)
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
        mlflow.log_params(flatten_params(settings.parameters()))
        mlflow.log_metrics(result.metrics())
        for path in files:
            folder = path.parent.relative_to(output_dir).as_posix()
            mlflow.log_artifact(str(path), None if folder == "." else folder)
    return run.info.run_id
