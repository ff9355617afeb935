"""`credit-models-train`: data → snapshots → labels → features → OOT split → PD model → metrics →
MLflow run and registered version.

The job only wires the stages; each stage is a plain function that knows nothing of Hydra or MLflow.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from omegaconf import DictConfig, OmegaConf

from credit_models.config.schema import register_configs
from credit_models.data.simulator import read_truth, true_default_probability
from credit_models.evaluation.metrics import evaluate_split_metrics, ranking_metrics
from credit_models.evaluation.report import ValidationInputs, build_validation_report
from credit_models.evaluation.plots import bad_rate_by_snapshot, roc_by_split, top_features_bar
from credit_models.evaluation.selection_plots import iv_psi_plot
from credit_models.explain.contributions import mean_absolute_shap, shap_contributions
from credit_models.labels.default_label import LABELLED, DefaultDefinition
from credit_models.features.selection_config import SelectionConfig
from credit_models.models.xgb_pd import check_trainable, fit_xgb_pd, model_inputs
from credit_models.paths import PACKAGE_DIR, config_dir
from credit_models.pipelines.dataset import LoadedDataset
from credit_models.pipelines.training_data import assemble_training_data
from credit_models.split.out_of_time import SPLITS
from credit_models.tracking.mlflow_tracking import (
    code_version,
    flatten_params,
    resolve_tracking_uri,
)
from credit_models.tracking.pd_pyfunc import (
    BOOSTER_FILE,
    FEATURE_CONTRACT_FILE,
    ProbabilityOfDefaultModel,
    feature_contract,
    public_inputs,
)

logger = logging.getLogger("credit_models.train")


@dataclass(frozen=True)
class TrainingResult:
    run_id: str
    metrics: dict[str, float]
    tracking_uri: str
    registered_version: str | None


def _oracle_metrics(
    dataset: LoadedDataset, rows: pd.DataFrame, definition: DefaultDefinition
) -> dict[str, float]:
    """On simulated data, the true PD ranks the same rows: the ceiling a model can reach."""
    if dataset.manifest.source != "simulator" or not (dataset.path / "truth").is_dir():
        return {}
    truth = read_truth(dataset.path)
    oracle = pd.concat(
        [
            true_default_probability(
                truth, as_of, bad_days_past_due=definition.bad_days_past_due,
                performance_months=definition.performance_months,
            )
            for as_of in sorted(rows["as_of"].unique())
        ]
    )
    joined = rows.merge(oracle, on=["customer_id", "as_of"], how="inner")
    if len(joined) < len(rows):
        logger.warning("the oracle covers %d of %d OOT rows", len(joined), len(rows))
    return {"oracle_auc": ranking_metrics(joined["is_bad"], joined["probability"])["auc"]}


def run_training(cfg: DictConfig) -> TrainingResult:
    """The whole job; returns the run id and metrics (the OOT AUC is what a sweeper optimises)."""
    started = time.perf_counter()
    tracking_uri = resolve_tracking_uri(cfg.mlflow.tracking_uri, Path.cwd())

    def stage(message: str, *args: Any) -> None:
        logger.info("[%6.1fs] " + message, time.perf_counter() - started, *args)

    # Built (and so checked) before any data are read: a bad threshold fails in a second.
    selector = SelectionConfig(**OmegaConf.to_container(cfg.selection)).build()
    data = assemble_training_data(cfg, stage)
    dataset, definition, labelled, features = (
        data.dataset, data.definition, data.labelled, data.features
    )
    summary = data.label_summary
    split = data.split
    is_bad = labelled["is_bad"]
    check_trainable(is_bad, split)
    all_inputs = model_inputs(features.frame, features.feature_names)
    selector.fit(
        all_inputs[split == "dev"], is_bad[split == "dev"],
        comparison=all_inputs[split == "oot"], descriptions=features.descriptions,
    )
    selection_report = selector.selection_report_
    kept = list(selector.get_feature_names_out()) if cfg.select_features else list(all_inputs)
    stage("feature selection: %d of %d features kept%s", int(selection_report["kept"].sum()),
          len(selection_report),
          "" if cfg.select_features else "; training on all (select_features=false)")
    inputs = all_inputs[kept]
    model = fit_xgb_pd(
        inputs[split == "dev"], is_bad[split == "dev"],
        inputs[split == "valid"], is_bad[split == "valid"],
        OmegaConf.to_container(cfg.model.params, resolve=True),
        cfg.model.early_stopping_rounds, cfg.seed,
    )
    stage("XGBoost trained: %d trees (best iteration %d)", model.get_booster().num_boosted_rounds(),
          model.best_iteration)

    probability = pd.Series(model.predict_proba(inputs)[:, 1], index=inputs.index)
    metrics = evaluate_split_metrics(is_bad, probability, split)
    curves = {
        name: (is_bad[split == name].to_numpy(), probability[split == name].to_numpy())
        for name in SPLITS
    }
    oot_rows = labelled.loc[split == "oot", ["customer_id", "as_of", "is_bad"]]
    for metric, value in _oracle_metrics(dataset, oot_rows, definition).items():
        metrics[f"oot/{metric}"] = value
    stage("metrics: %s", ", ".join(
        f"{k} {v:.4f}" for k, v in metrics.items()
        if k.endswith(("/auc", "/ks", "/ece", "psi_score", "oracle_auc"))
    ))

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(cfg.mlflow.experiment_name)
    resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    fingerprint = data.fingerprint
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        mlflow.set_tags({
            "model_family": "pd",
            "model_name": cfg.model.name,
            "label": definition.name,
            "data_source": dataset.manifest.source,
            **code_version(PACKAGE_DIR),
        })
        mlflow.log_params(flatten_params(resolved))
        mlflow.log_metrics(metrics)
        mlflow.log_dict(resolved, "config/resolved_config.json")
        mlflow.log_text(OmegaConf.to_yaml(cfg), "config/resolved_config.yaml")
        mlflow.log_dict(fingerprint, "data/fingerprint.json")
        mlflow.log_text(dataset.report.describe(), "data/validation_report.txt")
        mlflow.log_text(summary.to_csv(index=False), "labels/label_summary.csv")
        mlflow.log_dict(features.descriptions, "features/feature_descriptions.json")
        mlflow.log_dict(data.raw_feature_spec, "features/feature_spec.json")
        mlflow.log_text(selection_report.to_csv(index=False), "features/selection_report.csv")
        mlflow.log_figure(
            iv_psi_plot(selection_report, min_iv=cfg.selection.min_iv,
                        max_psi=cfg.selection.max_psi, max_iv=cfg.selection.max_iv),
            "plots/feature_selection_iv_psi.png",
        )
        if cfg.mlflow.log_feature_matrix:
            matrix_path = scratch_dir / "feature_matrix.parquet"
            features.frame.assign(is_bad=is_bad, split=split).to_parquet(
                matrix_path, index=False, compression="zstd"
            )
            mlflow.log_artifact(str(matrix_path), "features")
        shap_importance = mean_absolute_shap(
            shap_contributions(model.get_booster(), inputs[split == "oot"])
        )
        mlflow.log_text(shap_importance.to_csv(), "explain/shap_importance_oot.csv")
        mlflow.log_figure(
            top_features_bar(shap_importance, "Mean |SHAP| on the OOT period (log-odds)"),
            "plots/shap_importance_oot.png",
        )
        mlflow.log_figure(roc_by_split(curves), "plots/roc_by_split.png")
        report = build_validation_report(ValidationInputs(
            model_name=f"{cfg.model.name} ({cfg.mlflow.registered_model_name})",
            label_definition=(
                f"bad = ever {definition.bad_days_past_due}+ days past due within "
                f"{definition.performance_months} months after the snapshot ({definition.name})"
            ),
            data_source=f"{dataset.manifest.source} ({dataset.path})",
            run_id=run.info.run_id,
            scored=labelled[["is_bad", "as_of"]].assign(
                probability=probability.to_numpy(), split=split.to_numpy()
            ),
            features=all_inputs,
            feature_descriptions=features.descriptions,
            feature_importance=shap_importance,
            importance_label="mean |SHAP| on the OOT period (log-odds)",
            details={
                **code_version(PACKAGE_DIR),
                "features kept": f"{len(kept)} of {len(all_inputs.columns)}",
                **({"oracle AUC (OOT)": f"{metrics['oot/oracle_auc']:.4f}"}
                   if "oot/oracle_auc" in metrics else {}),
            },
        ))
        mlflow.log_text(report, "reports/validation_report.html")
        labelled_summary = summary[summary[LABELLED] > 0]
        mlflow.log_figure(
            bad_rate_by_snapshot(
                [str(pd.Timestamp(d).date()) for d in labelled_summary["as_of"]],
                labelled_summary["bad_rate"].astype(float).tolist(),
                labelled_summary[LABELLED].astype(int).tolist(),
            ),
            "plots/bad_rate_by_snapshot.png",
        )

        booster_path = scratch_dir / BOOSTER_FILE
        model.get_booster().save_model(booster_path)
        contract_path = scratch_dir / FEATURE_CONTRACT_FILE
        contract_path.write_text(json.dumps(feature_contract(inputs, features.descriptions),
                                            indent=2, ensure_ascii=False))
        example = public_inputs(inputs[split == "oot"].head(5))
        signature = infer_signature(
            example, pd.DataFrame({"probability_of_default": np.zeros(len(example))})
        )
        model_info = mlflow.pyfunc.log_model(
            name="model",
            python_model=ProbabilityOfDefaultModel(),
            artifacts={"booster": str(booster_path), "feature_contract": str(contract_path)},
            code_paths=[str(PACKAGE_DIR)],
            signature=signature,
            input_example=example,
            registered_model_name=(
                cfg.mlflow.registered_model_name if cfg.mlflow.register else None
            ),
        )
        version = (
            str(model_info.registered_model_version) if cfg.mlflow.register else None
        )
    stage("MLflow run %s logged%s", run.info.run_id,
          f"; registered {cfg.mlflow.registered_model_name} version {version}" if version else "")
    return TrainingResult(run.info.run_id, metrics, tracking_uri, version)


register_configs()


@hydra.main(config_path=str(config_dir()), config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float:
    result = run_training(cfg)
    print(
        f"\nOOT AUC {result.metrics['oot/auc']:.4f} | KS {result.metrics['oot/ks']:.4f}"
        + (f" | oracle AUC {result.metrics['oot/oracle_auc']:.4f}"
           if "oot/oracle_auc" in result.metrics else "")
        + f"\nMLflow run {result.run_id}"
        + (f", registered version {result.registered_version}" if result.registered_version else "")
        + f"\nLook at it with:  mlflow ui --backend-store-uri {result.tracking_uri}\n"
    )
    return result.metrics["oot/auc"]


if __name__ == "__main__":
    main()
