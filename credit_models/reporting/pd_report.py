"""The validation report of a trained PD model, rendered from its training result alone: no
tracking server is needed to build it, the run only stores it."""

from __future__ import annotations

from collections.abc import Mapping

from credit_models.models.settings import ModelFamily
from credit_models.reporting.validation_report import ValidationInputs, build_validation_report
from credit_models.workflows.pd_training import PdTrainingResult


def pd_report_inputs(
    result: PdTrainingResult, model_name: str, *, run_id: str = "",
    details: Mapping[str, str] | None = None,
) -> ValidationInputs:
    """The report's inputs; ``details`` are extra header lines (e.g. the code version) shown
    before the model's own."""
    data, table, evaluated, model = result.data, result.table, result.evaluated, result.model
    family, metrics, test_split = result.model_settings.family, result.metrics, result.test_split
    explanations = result.explanations
    return ValidationInputs(
        model_name=f"{model_name} ({family.value})",
        label_definition=data.label_text,
        data_source=f"{data.dataset.manifest.source} ({data.dataset.path})",
        run_id=run_id,
        scored=data.labelled[["is_bad", "as_of"]].assign(
            probability=evaluated.probability.to_numpy(), split=table.split.to_numpy()
        ),
        raw_probability=evaluated.raw_probability.to_numpy(),
        features=table.all_inputs,
        feature_descriptions=data.features.descriptions,
        feature_importance=explanations.importance,
        importance_label=f"{explanations.label} on the {test_split} split",
        segments=result.segments,
        fairness=result.fairness,
        scorecard_table=(model.estimator_.points_table_
                         if family is ModelFamily.scorecard else None),
        test_split=test_split,
        details={
            **(details or {}),
            "model": f"{family.value}; calibration {result.model_settings.calibration.value}",
            "features used": f"{model.n_features_in_} of {len(table.all_inputs.columns)}",
            "feature selection": selection_summary(result),
            **{f"fit: {key}": str(value) for key, value in model.summary().items()},
            **{key: f"{value:.4f}" for key, value in result.oracle.items()},
            **({"CV AUC": f"{metrics['cv/auc_mean']:.4f} ± {metrics['cv/auc_std']:.4f} "
                          f"({int(metrics['cv/folds'])} folds)"}
               if "cv/auc_mean" in metrics else {}),
        },
    )


def selection_summary(result: PdTrainingResult) -> str:
    """Which rule set chose the features, and what the refit did, in words."""
    rules = result.selection.resolved_rules(result.model_settings.family.value)
    text = {"trees": "trees rules (only unusable features dropped)",
            "scorecard": "scorecard rules (missing, single value, IV, PSI, correlation)"}[rules]
    refit = result.evaluated.metrics.get("fit/refit_rows")
    return text + ("" if refit is None else f"; refitted on {int(refit):,} pre-test rows")


def pd_validation_report(
    result: PdTrainingResult, model_name: str, *, run_id: str = "",
    details: Mapping[str, str] | None = None,
) -> str:
    """The validation report's HTML."""
    return build_validation_report(pd_report_inputs(result, model_name, run_id=run_id,
                                                    details=details))
