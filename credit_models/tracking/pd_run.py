"""Everything a model-validation reviewer asks for, logged to one MLflow run: config, data
fingerprint, labels, features and selection, metrics (also as JSON), plots, the HTML report, and
the model as a registered pyfunc. The version is created only after the run has ended FINISHED
with every artifact, so a failure or a kill before it leaves no version behind (and MLflow marks
the run FAILED)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from mlflow.models import infer_signature
from omegaconf import OmegaConf

from credit_models.evaluation.metrics import metrics_by_group, score_band_table, split_metrics_table
from credit_models.explain.global_explanations import (
    beeswarm_plot,
    dependence_plots,
    importance_drift_plot,
)
from credit_models.labels.default_label import LABELLED
from credit_models.models.pd_model import PdModel
from credit_models.models.settings import ModelFamily, ModelSettings
from credit_models.paths import PACKAGE_DIR
from credit_models.reporting.pd_report import pd_validation_report
from credit_models.reporting.plots import (
    bad_rate_by_band,
    bad_rate_by_snapshot,
    calibration_by_split,
    ks_curve,
    roc_by_split,
    score_distributions,
    top_features_bar,
)
from credit_models.reporting.selection_plots import iv_psi_plot
from credit_models.reporting.validation_report import DEFAULT_PD_BAND_EDGES
from credit_models.split.names import CALIBRATION, SPLIT_ORDER, UNUSED
from credit_models.tracking.artifacts import log_figure
from credit_models.tracking.dataset_inputs import (
    SOURCE_CONTEXT,
    MetadataDataset,
    log_dataset_inputs,
    source_dataset,
    split_datasets,
)
from credit_models.tracking.input_example import signature_rows
from credit_models.tracking.mlflow_tracking import code_version, flatten_params, open_experiment
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
from credit_models.tracking.run_summary import (
    config_digest,
    description,
    headline_metrics,
    in_sample_metric_names,
    run_name,
    without_keys,
)
from credit_models.tracking.training_rows import log_training_rows
from credit_models.workflows.pd_training import GlobalExplanations, PdTrainingResult
from credit_models.workflows.settings import MlflowSettings
from credit_models.workflows.training_data import TrainingData

logger = logging.getLogger(__name__)
ONNX_FILE = "model.onnx"
ONNX_TOLERANCE = 1e-5


@dataclass(frozen=True)
class LoggedRun:
    run_id: str
    registered_version: str | None
    duplicate_of: str | None = None
    """The registered version of the same config on the same data, when one made registering
    this run's model a duplicate."""


def pd_run_tags(model: ModelSettings, data: TrainingData) -> dict[str, str]:
    """The tags every PD run carries (training runs, tuning parents, trials and refits alike)."""
    return {
        "model_family": "pd",
        "model_kind": model.family.value,
        "model_name": model.name,
        "label": data.label_name,
        "data_source": data.dataset.manifest.source,
        "test_split": data.splitter.evaluation_split,
        **data.engine_tags,
        **code_version(PACKAGE_DIR),
    }


def log_pd_run(
    result: PdTrainingResult,
    resolved: dict[str, Any],
    settings: MlflowSettings,
    *,
    name: str | None = None,
    overrides: Sequence[str] = (),
    nested: bool = False,
    parent_run_id: str | None = None,
    register: bool | None = None,
) -> LoggedRun:
    """One MLflow run with every artifact of ``result``; ``resolved`` is the run's plain resolved
    config (logged as params and files); ``settings`` say where (store and experiment: a run
    nested in an open one stays in its experiment), whether to log the training rows and register
    the model, and under which name (``register`` overrides ``settings.register``). The run is
    named ``name`` or after the model, label, data and the key command-line ``overrides``, and
    described by its headline metrics. Returns the run id and the registered version."""
    if not nested:
        open_experiment(settings.tracking_uri, settings.experiment_name)
    data, table, evaluated, model = result.data, result.table, result.evaluated, result.model
    split, is_bad = table.split, table.is_bad
    test_split = result.test_split
    used = split != UNUSED
    metrics = {**result.metrics, **result.fit_metrics}
    test_inputs = table.inputs[split == test_split]
    headline = headline_metrics(metrics, test_split)
    digest = config_digest(resolved)

    with mlflow.start_run(run_name=name or pd_run_name(result, overrides), nested=nested,
                          parent_run_id=parent_run_id) as run, \
            tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        mlflow.set_tags({**pd_run_tags(result.model_settings, data), "selection_rules":
                         result.selection.resolved_rules(result.model_settings.family.value),
                         "config_digest": digest,
                         "mlflow.note.content": pd_description(result, headline)})
        log_dataset_inputs(pd_datasets(result))
        mlflow.log_params(flatten_params(
            without_keys(resolved, "model", result.model_settings.unused_keys)))
        log_run_metrics(metrics, headline, model)
        mlflow.log_text(
            split_metrics_table(is_bad[used], evaluated.probability[used], split[used])
            .to_csv(), "metrics/split_metrics.csv",
        )
        if evaluated.cv_metrics is not None:
            mlflow.log_text(evaluated.cv_metrics.to_csv(index=False), "metrics/cross_validation.csv")
        mlflow.log_dict(resolved, "config/resolved_config.json")
        mlflow.log_text(config_yaml(resolved), "config/resolved_config.yaml")
        mlflow.log_dict(data.fingerprint, "data/fingerprint.json")
        mlflow.log_text(data.dataset.report.describe(), "data/validation_report.txt")
        mlflow.log_text(data.label_summary.to_csv(index=False), "labels/label_summary.csv")
        mlflow.log_dict(data.features.descriptions, "features/feature_descriptions.json")
        mlflow.log_dict(data.raw_feature_spec, "features/feature_spec.json")
        mlflow.log_text(table.selection_report.to_csv(index=False),
                        "features/selection_report.csv")
        selection = result.selection
        _log_figure(
            iv_psi_plot(table.selection_report, min_iv=selection.min_iv,
                        max_psi=selection.max_psi, max_iv=selection.max_iv),
            "plots/feature_selection_iv_psi.png",
        )
        log_training_rows(data, resolved, settings.log_feature_matrix, scratch_dir)
        log_explanations(result.explanations)
        family = result.model_settings.family
        if family is ModelFamily.scorecard:
            mlflow.log_text(model.estimator_.points_table_csv(), "scorecard/points_table.csv")
            mlflow.log_text(model.estimator_.to_sql(), "scorecard/score.sql")
        _log_plots(result)
        mlflow.log_text(
            pd_validation_report(result, result.model_settings.name, run_id=run.info.run_id,
                                 details=code_version(PACKAGE_DIR)),
            "reports/validation_report.html",
        )

        features = list(model.feature_names_in_)
        contract = feature_contract(table.inputs[features], data.features.descriptions)
        files = write_model_files(model, contract, scratch_dir)
        if family is ModelFamily.xgboost:
            files["onnx"] = str(_export_onnx(model, contract, test_inputs, scratch_dir))
        schema_rows = signature_rows(test_inputs[features])
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
    registering = settings.register if register is None else register
    version = (register_finished_model(
        model_info, settings.registered_model_name,
        tags=pd_version_tags(result, run.info.run_id, headline, digest),
        description=pd_description(result, headline)) if registering else None)
    return LoggedRun(run.info.run_id, version)


def log_run_metrics(metrics: dict[str, float], headline: dict[str, float],
                    model: PdModel) -> None:
    """Every metric in ``metrics/metrics.json`` (with the names of the headline ones); as run
    metrics, all but the calibration split's calibration quality when ``model``'s calibrator
    was fitted there: a calibrator is perfectly calibrated on its own rows."""
    in_sample = (in_sample_metric_names(metrics, [CALIBRATION])
                 if model.calibrator_ is not None else [])
    mlflow.log_metrics({key: value for key, value in metrics.items() if key not in in_sample})
    mlflow.log_dict({**dict(sorted(metrics.items())), "in_sample": in_sample,
                     "headline": list(headline)}, "metrics/metrics.json")


def pd_run_name(result: PdTrainingResult, overrides: Sequence[str] = ()) -> str:
    """Model name · label · data set · key overrides, e.g.
    ``pd_xgb · dpd30_6m · simulated_20000_seed7 · params.max_depth=6``."""
    data = result.data
    return run_name([result.model_settings.name, data.label_name, data.dataset.path.name],
                    overrides)


def pd_description(result: PdTrainingResult, headline: dict[str, float]) -> str:
    """The run's (and its version's) description: what was trained on what, then the headline
    metrics."""
    data, table, settings = result.data, result.table, result.model_settings
    test = table.split == result.test_split
    facts = [
        f"{settings.family.value} PD model `{settings.name}`",
        f"label: {data.label_text}",
        f"data: {data.dataset.path.name} (fingerprint {data.fingerprint['combined_sha256'][:12]})",
        f"{len(result.model.feature_names_in_)} features",
        f"{result.test_split} split: {int(test.sum()):,} rows, "
        + f"{int(table.is_bad[test].sum()):,} bads",
    ]
    return description(f"{settings.name} on {data.dataset.path.name}", facts, headline)


def pd_datasets(result: PdTrainingResult) -> list[tuple[MetadataDataset, str]]:
    """The event data set and each split of the modelling table, as MLflow dataset inputs."""
    data = result.data
    source = source_dataset(data.dataset.path, data.dataset.tables, data.fingerprint,
                            data.dataset.manifest.source)
    splits = split_datasets(data.dataset.path.name, data.labelled, result.table.split,
                            result.table.inputs, data.dataset.path)
    return [(source, SOURCE_CONTEXT), *splits]


def pd_version_tags(result: PdTrainingResult, run_id: str, headline: dict[str, float],
                    digest: str) -> dict[str, str]:
    """What a registry page shows of a version without opening its run: headline test metrics,
    label, data fingerprint, training run, config digest and the gate (not run until a
    promotion)."""
    data = result.data
    return {
        **{name: f"{value:.4f}" for name, value in headline.items()},
        "label": data.label_name,
        "model_kind": result.model_settings.family.value,
        "data_source": data.dataset.path.name,
        "data_fingerprint": data.fingerprint["combined_sha256"],
        "training_run": run_id,
        "config_digest": digest,
        "gate": "not run: credit-models-promote judges this version against the champion",
    }


def config_yaml(resolved: dict[str, Any]) -> str:
    """The resolved config as YAML, keys in their config order."""
    return OmegaConf.to_yaml(resolved)


def log_explanations(explanations: GlobalExplanations) -> None:
    """The global explanations: importance, beeswarm and dependence plots on the test split, and
    the importance drift from development."""
    test_split = explanations.splits[1]
    mlflow.log_text(explanations.importance.to_csv(),
                    f"explain/shap_importance_{test_split}.csv")
    _log_figure(top_features_bar(explanations.importance,
                                 f"{explanations.label}, {test_split} split"),
                f"plots/feature_importance_{test_split}.png")
    test, rows = explanations.test, explanations.test_rows
    _log_figure(beeswarm_plot(test, rows), f"plots/shap_beeswarm_{test_split}.png")
    for name, figure in dependence_plots(test, rows, top_k=4).items():
        _log_figure(figure, f"plots/shap_dependence/{name}.png")
    mlflow.log_text(explanations.drift.to_csv(index=False), "explain/shap_importance_drift.csv")
    _log_figure(importance_drift_plot(explanations.drift, names=explanations.splits),
                "plots/shap_importance_drift.png")


def _log_figure(figure: Figure, path: str) -> None:
    log_figure(figure, path)
    plt.close(figure)


def _export_onnx(
    model: PdModel, contract: list[dict[str, Any]], test_inputs: pd.DataFrame, folder: Path
) -> Path:
    """The validated trees as ONNX beside the pyfunc, refused (before anything is registered)
    unless it reproduces XGBoost's probabilities on the test split within 1e-5."""
    booster = validated_trees(model.estimator_)
    exported = booster_to_onnx(booster, len(contract))
    served = public_inputs(test_inputs[list(model.feature_names_in_)])
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


def _log_plots(result: PdTrainingResult) -> None:
    data, table, evaluated = result.data, result.table, result.evaluated
    test_split = result.test_split
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
        score_distributions(test_is_bad, evaluated.model.points(test_pd),
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
