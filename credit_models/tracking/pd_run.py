"""Everything a model-validation reviewer asks for, logged to one MLflow run: config, data
fingerprint, labels, features and selection, metrics (also as JSON), plots, the HTML report, and
the model as a registered pyfunc. The version is created only after the run has ended FINISHED
with every artifact, so a failure or a kill before it leaves no version behind (and MLflow marks
the run FAILED)."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from mlflow.models import infer_signature
from omegaconf import DictConfig, OmegaConf

from credit_models.evaluation.fairness import FairnessReview
from credit_models.evaluation.metrics import metrics_by_group, score_band_table, split_metrics_table
from credit_models.reporting.plots import (
    bad_rate_by_band,
    bad_rate_by_snapshot,
    calibration_by_split,
    ks_curve,
    roc_by_split,
    score_distributions,
    top_features_bar,
)
from credit_models.reporting.validation_report import (
    DEFAULT_PD_BAND_EDGES,
    ValidationInputs,
    build_validation_report,
)
from credit_models.reporting.selection_plots import iv_psi_plot
from credit_models.explain.contributions import Contributions, model_contributions
from credit_models.explain.global_explanations import (
    beeswarm_plot,
    dependence_plots,
    importance_drift,
    importance_drift_plot,
    shap_importance,
)
from credit_models.labels.default_label import LABELLED
from credit_models.models.pd_model import ModelFamily, PdModel
from credit_models.paths import PACKAGE_DIR
from credit_models.workflows.pd_training import EvaluatedModel, ModellingTable, review_fairness
from credit_models.workflows.training_data import TrainingData
from credit_models.split.names import DEVELOPMENT, SPLIT_ORDER, UNUSED
from credit_models.tracking.input_example import signature_rows
from credit_models.tracking.mlflow_tracking import code_version, flatten_params
from credit_models.tracking.model_code import PD_MODEL_CODE, pip_requirements
from credit_models.tracking.onnx_export import booster_to_onnx, onnx_parity
from credit_models.tracking.pd_pyfunc import (
    OUTPUT_COLUMNS,
    feature_contract,
    public_inputs,
    typed_inputs,
    validated_trees,
    write_model_files,
)
from credit_models.tracking.run_lifecycle import register_finished_model
from credit_models.tracking.training_rows import (
    FEATURE_MATRIX_ARTIFACT,
    MATRIX_REFERENCE_ARTIFACT,
    matrix_reference,
    training_matrix,
)

logger = logging.getLogger(__name__)
ONNX_FILE = "model.onnx"
ONNX_TOLERANCE = 1e-5


@dataclass(frozen=True)
class LoggedRun:
    run_id: str
    registered_version: str | None


EXPLAIN_SAMPLE_ROWS = 20_000
"""Rows per split explained for the global plots: enough for stable mean |SHAP|, bounded time."""


def _explained(model: PdModel, inputs: pd.DataFrame, seed: int) -> tuple[Contributions, pd.DataFrame]:
    rows = inputs if len(inputs) <= EXPLAIN_SAMPLE_ROWS else inputs.sample(
        EXPLAIN_SAMPLE_ROWS, random_state=seed)
    return model_contributions(model, rows[model.features]), rows[model.features]


def log_explanations(
    model: PdModel, table: ModellingTable, test_split: str, seed: int
) -> tuple[pd.Series, str]:
    """Global explanations of the model in log-odds (TreeSHAP for trees, coefficient × WoE for a
    scorecard): importance, beeswarm and dependence plots on the test split, and the importance
    drift from development. Returns the test split's mean |contribution| for the report."""
    test, test_rows = _explained(model, table.inputs[table.split == test_split], seed)
    development, _ = _explained(model, table.inputs[table.split == DEVELOPMENT], seed)
    importance = shap_importance(test)
    mlflow.log_text(importance.to_csv(), f"explain/shap_importance_{test_split}.csv")
    _log_figure(top_features_bar(importance, f"mean |SHAP| (log-odds), {test_split} split"),
                f"plots/feature_importance_{test_split}.png")
    _log_figure(beeswarm_plot(test, test_rows), f"plots/shap_beeswarm_{test_split}.png")
    for name, figure in dependence_plots(test, test_rows, top_k=4).items():
        _log_figure(figure, f"plots/shap_dependence/{name}.png")
    names = (DEVELOPMENT, test_split)
    drift = importance_drift(development, test, names=names)
    mlflow.log_text(drift.to_csv(index=False), "explain/shap_importance_drift.csv")
    _log_figure(importance_drift_plot(drift, names=names), "plots/shap_importance_drift.png")
    return importance, "mean |SHAP| (log-odds)"


def _log_figure(figure: Figure, path: str) -> None:
    mlflow.log_figure(figure, path)
    plt.close(figure)


def log_pd_run(
    cfg: DictConfig,
    data: TrainingData,
    table: ModellingTable,
    evaluated: EvaluatedModel,
    extra_metrics: dict[str, float],
    *,
    run_name: str | None = None,
    nested: bool = False,
    register: bool = True,
    parent_run_id: str | None = None,
) -> LoggedRun:
    """One MLflow run with every artifact; returns its id and the registered version."""
    model, split, is_bad = evaluated.model, table.split, table.is_bad
    test_split = data.splitter.evaluation_split
    used = split != UNUSED
    metrics = {**evaluated.metrics, **extra_metrics, **{
        f"fit/{key}": float(value) for key, value in model.summary().items()
    }}
    resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    test_inputs = table.inputs[split == test_split]

    with mlflow.start_run(run_name=run_name, nested=nested, parent_run_id=parent_run_id) as run, \
            tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        mlflow.set_tags({
            "model_family": "pd",
            "model_kind": model.family.value,
            "model_name": cfg.model.name,
            "label": data.label_name,
            "data_source": data.dataset.manifest.source,
            "test_split": test_split,
            **code_version(PACKAGE_DIR),
        })
        mlflow.log_params(flatten_params(resolved))
        mlflow.log_metrics(metrics)
        mlflow.log_dict(dict(sorted(metrics.items())), "metrics/metrics.json")
        mlflow.log_text(
            split_metrics_table(is_bad[used], evaluated.probability[used], split[used])
            .to_csv(), "metrics/split_metrics.csv",
        )
        if evaluated.cv_metrics is not None:
            mlflow.log_text(evaluated.cv_metrics.to_csv(index=False), "metrics/cross_validation.csv")
        mlflow.log_dict(resolved, "config/resolved_config.json")
        mlflow.log_text(OmegaConf.to_yaml(cfg), "config/resolved_config.yaml")
        mlflow.log_dict(data.fingerprint, "data/fingerprint.json")
        mlflow.log_text(data.dataset.report.describe(), "data/validation_report.txt")
        mlflow.log_text(data.label_summary.to_csv(index=False), "labels/label_summary.csv")
        mlflow.log_dict(data.features.descriptions, "features/feature_descriptions.json")
        mlflow.log_dict(data.raw_feature_spec, "features/feature_spec.json")
        mlflow.log_text(table.selection_report.to_csv(index=False),
                        "features/selection_report.csv")
        _log_figure(
            iv_psi_plot(table.selection_report, min_iv=cfg.selection.min_iv,
                        max_psi=cfg.selection.max_psi, max_iv=cfg.selection.max_iv),
            "plots/feature_selection_iv_psi.png",
        )
        log_training_rows(data, resolved, bool(cfg.mlflow.log_feature_matrix), scratch_dir)
        importance, importance_label = log_explanations(model, table, test_split, cfg.seed)
        scorecard_table = None
        if model.family is ModelFamily.scorecard:
            scorecard_table = model.estimator.points_table_
            mlflow.log_text(model.estimator.points_table_csv(), "scorecard/points_table.csv")
            mlflow.log_text(model.estimator.to_sql(), "scorecard/score.sql")
        _log_plots(data, table, evaluated, test_split)
        report = build_validation_report(ValidationInputs(
            model_name=f"{cfg.model.name} ({model.family.value})",
            label_definition=data.label_text,
            data_source=f"{data.dataset.manifest.source} ({data.dataset.path})",
            run_id=run.info.run_id,
            scored=data.labelled[["is_bad", "as_of"]].assign(
                probability=evaluated.probability.to_numpy(), split=split.to_numpy()
            ),
            raw_probability=evaluated.raw_probability.to_numpy(),
            features=table.all_inputs,
            feature_descriptions=data.features.descriptions,
            feature_importance=importance,
            importance_label=f"{importance_label} on the {test_split} split",
            segments=_configured_segments(cfg, table),
            fairness=_fairness(cfg, data, table, evaluated, model, test_split),
            scorecard_table=scorecard_table,
            test_split=test_split,
            details={
                **code_version(PACKAGE_DIR),
                "model": f"{model.family.value}; calibration {model.settings.calibration.value}",
                "features used": f"{len(model.features)} of {len(table.all_inputs.columns)}",
                **{f"fit: {key}": str(value) for key, value in model.summary().items()},
                **{key: f"{value:.4f}" for key, value in extra_metrics.items()},
                **({"CV AUC": f"{metrics['cv/auc_mean']:.4f} ± {metrics['cv/auc_std']:.4f} "
                              f"({int(metrics['cv/folds'])} folds)"}
                   if "cv/auc_mean" in metrics else {}),
            },
        ))
        mlflow.log_text(report, "reports/validation_report.html")

        contract = feature_contract(table.inputs[model.features], data.features.descriptions)
        files = write_model_files(model, contract, scratch_dir)
        if model.family is ModelFamily.xgboost:
            files["onnx"] = str(_export_onnx(model, contract, test_inputs, scratch_dir))
        schema_rows = signature_rows(test_inputs[model.features])
        example = schema_rows.head(1)
        signature = infer_signature(
            schema_rows, pd.DataFrame({name: np.zeros(len(schema_rows)) for name in OUTPUT_COLUMNS})
        )
        model_info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(PD_MODEL_CODE),
            artifacts=files,
            code_paths=[str(PACKAGE_DIR)],
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
        )
    # The run has ended FINISHED with every artifact: only now does it get a version.
    version = (register_finished_model(model_info, cfg.mlflow.registered_model_name)
               if register else None)
    return LoggedRun(run.info.run_id, version)


def log_training_rows(
    data: TrainingData, resolved: dict[str, Any], log_matrix: bool, scratch: Path
) -> None:
    """The training rows' fingerprint, schema and how to rebuild them, always; the rows
    themselves (customer ids, attributes, labels) only when ``mlflow.log_feature_matrix`` asks."""
    matrix = training_matrix(data)
    mlflow.log_dict(matrix_reference(data, matrix, resolved, logged=log_matrix),
                    MATRIX_REFERENCE_ARTIFACT)
    if log_matrix:
        path = scratch / Path(FEATURE_MATRIX_ARTIFACT).name
        matrix.to_parquet(path, index=False, compression="zstd")
        mlflow.log_artifact(str(path), str(Path(FEATURE_MATRIX_ARTIFACT).parent))


def _export_onnx(
    model: PdModel, contract: list[dict[str, Any]], test_inputs: pd.DataFrame, folder: Path
) -> Path:
    """The validated trees as ONNX beside the pyfunc, refused (before anything is registered)
    unless it reproduces XGBoost's probabilities on the test split within 1e-5."""
    booster = validated_trees(model.estimator)
    exported = booster_to_onnx(booster, len(contract))
    served = public_inputs(test_inputs[model.features])
    difference = onnx_parity(exported, booster, served, contract, typed_inputs(contract, served))
    mlflow.log_metric("export/onnx_max_abs_diff", difference)
    if difference > ONNX_TOLERANCE:
        raise RuntimeError(
            f"the ONNX export differs from XGBoost by up to {difference:.3g} in probability on "
            f"{len(served):,} test rows (tolerance {ONNX_TOLERANCE}); nothing was registered"
        )
    path = folder / ONNX_FILE
    path.write_bytes(exported.SerializeToString())
    return path


def _fairness(cfg: DictConfig, data: TrainingData, table: ModellingTable,
              evaluated: EvaluatedModel, model: PdModel, test_split: str) -> FairnessReview:
    """Approval and PD by sensitive group on the test split (``cfg.fairness``)."""
    rows = (table.split == test_split).to_numpy()
    return review_fairness(cfg.fairness, evaluated.probability.to_numpy()[rows],
                           table.all_inputs[rows], model.features,
                           is_bad=table.is_bad.to_numpy()[rows])


def _configured_segments(cfg: DictConfig, table: ModellingTable) -> dict[str, Any]:
    """Each configured segment column's values (a feature of the matrix)."""
    segments = {}
    for name in cfg.report.segment_columns:
        if name not in table.all_inputs:
            logger.warning("report.segment_columns: %s is not a feature; skipped", name)
            continue
        segments[name] = table.all_inputs[name].astype("str").to_numpy()
    return segments


def _log_plots(
    data: TrainingData, table: ModellingTable, evaluated: EvaluatedModel, test_split: str
) -> None:
    split, is_bad = table.split, table.is_bad
    present = [name for name in SPLIT_ORDER if (split == name).any()]
    curves = {name: (is_bad[split == name].to_numpy(),
                     evaluated.probability[split == name].to_numpy()) for name in present}
    _log_figure(roc_by_split(curves), "plots/roc_by_split.png")
    _log_figure(calibration_by_split(curves), "plots/calibration_by_split.png")
    test = split == test_split
    test_is_bad, test_pd = is_bad[test].to_numpy(), evaluated.probability[test].to_numpy()
    _log_figure(ks_curve(test_is_bad, test_pd, title=f"KS curve, {test_split} split"),
                f"plots/ks_curve_{test_split}.png")
    _log_figure(
        score_distributions(test_is_bad, evaluated.model.score(test_pd),
                            title=f"Score points of goods and bads, {test_split} split",
                            xlabel="score points (higher = safer)"),
        f"plots/score_distributions_{test_split}.png",
    )
    _log_figure(bad_rate_by_band(score_band_table(test_is_bad, test_pd, DEFAULT_PD_BAND_EDGES)),
                f"plots/bad_rate_by_band_{test_split}.png")
    summary = data.label_summary
    labelled_summary = summary[summary[LABELLED] > 0] if LABELLED in summary else summary
    _log_figure(
        bad_rate_by_snapshot(
            [str(pd.Timestamp(d).date()) for d in labelled_summary["as_of"]],
            labelled_summary["bad_rate"].astype(float).tolist(),
            labelled_summary[LABELLED].astype(int).tolist(),
        ),
        "plots/bad_rate_by_snapshot.png",
    )
    monthly = metrics_by_group(test_is_bad, test_pd,
                               data.labelled.loc[test, "as_of"].dt.strftime("%Y-%m").to_numpy())
    mlflow.log_text(monthly.to_csv(index=False), f"metrics/{test_split}_by_month.csv")
