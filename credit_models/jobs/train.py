"""`credit-models-train`: data → snapshots → labels → features → split → PD model (XGBoost or
WoE scorecard) → calibration → metrics → MLflow run and registered version.

The job only wires the stages; each stage is a plain function that knows nothing of Hydra or MLflow.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from credit_models.config.schema import register_configs
from credit_models.data.simulator import read_truth, true_default_probability
from credit_models.evaluation.metrics import ranking_metrics
from credit_models.features.selection_config import SelectionConfig
from credit_models.features.sensitive import SensitiveAttributes
from credit_models.models.pd_model import ModelSettings
from credit_models.jobs.runner import job_entry
from credit_models.workflows.pd_training import (
    check_calibration_split,
    fit_and_evaluate,
    modelling_table,
)
from credit_models.workflows.training_data import TrainingData, assemble_training_data
from credit_models.split.factory import build_splitter
from credit_models.tracking.mlflow_tracking import resolve_tracking_uri
from credit_models.tracking.multirun import parent_run_id
from credit_models.tracking.pd_run import log_pd_run

logger = logging.getLogger("credit_models.train")


@dataclass(frozen=True)
class TrainingResult:
    run_id: str
    metrics: dict[str, float]
    tracking_uri: str
    registered_version: str | None
    test_split: str


def oracle_metrics(data: TrainingData, split: pd.Series) -> dict[str, float]:
    """On simulated data with event labels, the true PD ranks the same test rows: the ceiling a
    model can reach."""
    dataset, definition = data.dataset, data.definition
    if (dataset.manifest.source != "simulator" or not (dataset.path / "truth").is_dir()
            or data.label_name != definition.name):
        return {}
    test_split = data.splitter.evaluation_split
    rows = data.labelled.loc[split == test_split, ["customer_id", "as_of", "is_bad"]]
    truth = read_truth(dataset.path)
    oracle = pd.concat([
        true_default_probability(
            truth, as_of, bad_days_past_due=definition.bad_days_past_due,
            performance_months=definition.performance_months,
        )
        for as_of in sorted(rows["as_of"].unique())
    ])
    joined = rows.merge(oracle, on=["customer_id", "as_of"], how="inner")
    if len(joined) < len(rows):
        logger.warning("the oracle covers %d of %d %s rows", len(joined), len(rows), test_split)
    return {f"{test_split}/oracle_auc":
            ranking_metrics(joined["is_bad"], joined["probability"])["auc"]}


def run_training(cfg: DictConfig) -> TrainingResult:
    """The whole job; returns the run id and metrics."""
    started = time.perf_counter()
    tracking_uri = resolve_tracking_uri(cfg.mlflow.tracking_uri, Path.cwd())

    def stage(message: str, *args: Any) -> None:
        logger.info("[%6.1fs] " + message, time.perf_counter() - started, *args)

    # Built (and so checked) before any data are read: a bad setting fails in a second.
    settings = ModelSettings.from_config(
        OmegaConf.to_container(cfg.model, resolve=True, enum_to_str=True)
    )
    selector = SelectionConfig(**OmegaConf.to_container(cfg.selection)).build()
    splitter = build_splitter(OmegaConf.to_container(cfg.split, enum_to_str=True), cfg.seed)
    check_calibration_split(settings, splitter.periods)
    data = assemble_training_data(cfg, stage)
    table = modelling_table(data, selector, cfg.select_features,
                            SensitiveAttributes.from_config(cfg.fairness))
    report = table.selection_report
    stage("feature selection: %d of %d features kept%s", int(report["kept"].sum()), len(report),
          "" if cfg.select_features else "; training on all (select_features=false)")
    evaluated = fit_and_evaluate(table, settings, cfg.seed, data)
    stage("%s trained: %s", settings.family.value,
          ", ".join(f"{key} {value}" for key, value in evaluated.model.summary().items()))
    test_split = data.splitter.evaluation_split
    oracle = oracle_metrics(data, table.split)
    metrics = {**evaluated.metrics, **oracle}
    stage("metrics: %s", ", ".join(
        f"{k} {v:.4f}" for k, v in metrics.items()
        if k.endswith(("/auc", "/ks", "/ece", "ece_uncalibrated", "psi_score", "oracle_auc",
                       "auc_mean"))
    ))

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(cfg.mlflow.experiment_name)
    # A job of a multirun sweep (`-m`) is a child of the sweep's parent run.
    logged = log_pd_run(cfg, data, table, evaluated, oracle, register=cfg.mlflow.register,
                        parent_run_id=parent_run_id())
    stage("MLflow run %s logged%s", logged.run_id,
          f"; registered {cfg.mlflow.registered_model_name} version {logged.registered_version}"
          if logged.registered_version else "")
    return TrainingResult(logged.run_id, metrics, tracking_uri, logged.registered_version,
                          test_split)


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
        + f"\nLook at it with:  mlflow ui --backend-store-uri {result.tracking_uri}\n"
    )


register_configs()


@job_entry("train")
def main(cfg: DictConfig) -> float:
    result = run_training(cfg)
    print(summary_lines(result))
    return result.metrics[f"{result.test_split}/auc"]


if __name__ == "__main__":
    main()
