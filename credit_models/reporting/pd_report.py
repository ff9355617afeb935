"""The validation report of a trained PD model, rendered from its training result alone: no
tracking server is needed to build it, the run only stores it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from credit_models.models.settings import ModelFamily
from credit_models.reporting.validation_report import ValidationInputs, build_validation_report
from credit_models.split.names import VALIDATION
from credit_models.workflows.pd_training import PdTrainingResult

DETAIL_LABELS = {
    "git_commit": "Code version (git commit)",
    "git_dirty": "Uncommitted code changes",
}
"""Plain labels of the header lines a caller may pass under their machine names."""
_CALIBRATION = {
    "isotonic": "isotonic regression fitted on the calibration split",
    "platt": "Platt scaling (logistic) fitted on the calibration split",
    "auto": "isotonic or Platt, whichever has the lower held-out log loss on the calibration "
            "split",
    "none": "none (the model's own PD)",
}
"""Calibration methods (:class:`~credit_models.models.settings.CalibrationMethod` values) in
words."""
_RULES = {"trees": "tree-model rules", "scorecard": "scorecard rules"}


def pd_report_inputs(
    result: PdTrainingResult, model_name: str, *, run_id: str = "",
    details: Mapping[str, str] | None = None,
) -> ValidationInputs:
    """The report's inputs; ``details`` are extra header lines (e.g. the code version) shown
    after the model's own, machine names (``git_commit``) in plain words."""
    data, table, evaluated, model = result.data, result.table, result.evaluated, result.model
    family, test_split = result.model_settings.family, result.test_split
    explanations, selection = result.explanations, result.selection
    oracle = result.oracle.get(f"{test_split}/oracle_auc")
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
        importance_label=importance_label(result),
        contributions=explanations.test.values,
        contribution_inputs=explanations.test_rows,
        contribution_label=(
            "coefficient × WoE, log-odds of bad" if family is ModelFamily.scorecard
            else "SHAP value, log-odds of bad"),
        segments=result.segments,
        fairness=result.fairness,
        scorecard_table=(model.estimator_.points_table_
                         if family is ModelFamily.scorecard else None),
        test_split=test_split,
        thresholds=result.validation,
        oracle_auc=oracle,
        label_statuses={str(status): int(count) for status, count
                        in data.labels["status"].value_counts(sort=False).items()},
        selection_report=table.selection_report,
        selection_limits=selection_limits(result),
        selection_rules=_RULES[selection.resolved_rules(family.value)],
        validation_auc=(result.metrics.get(f"{VALIDATION}/auc")
                        if "fit/refit_rows" in evaluated.metrics else None),
        details={**model_details(result, oracle),
                 **{DETAIL_LABELS.get(key, key): _plain(value)
                    for key, value in (details or {}).items()}},
    )


def selection_limits(result: PdTrainingResult) -> dict[str, float | None]:
    """The selection thresholds that applied: the tree-model rules drop on neither IV nor PSI,
    so only the leakage flag (``max_iv``) is drawn for them."""
    selection = result.selection
    if selection.resolved_rules(result.model_settings.family.value) == "trees":
        return {"max_iv": selection.max_iv}
    return {"min_iv": selection.min_iv, "max_psi": selection.max_psi,
            "max_iv": selection.max_iv}


def importance_label(result: PdTrainingResult) -> str:
    """What the importance measures, named for the model: a scorecard's contributions are its
    coefficients times the WoE of each bin (its points in log-odds), not SHAP values of trees."""
    split = result.test_split
    if result.model_settings.family is ModelFamily.scorecard:
        return f"mean |coefficient × WoE| (log-odds) on the {split} split"
    return f"{result.explanations.label} on the {split} split"


def calibration_text(configured: str, calibrator: Any) -> str:
    """The calibration in words; for ``auto``, the method it chose and the held-out log losses
    it chose by."""
    text = _CALIBRATION.get(configured, f"{configured}, fitted on the calibration split")
    losses = getattr(calibrator, "cv_log_loss_", None)
    if configured == "auto" and calibrator is not None and losses:
        chosen = calibrator.method_
        text = (f"{_CALIBRATION[chosen]}, chosen by held-out log loss ("
                + ", ".join(f"{name} {value:.4f}" for name, value in losses.items()) + ")")
    return text


def model_details(result: PdTrainingResult, oracle: float | None) -> dict[str, str]:
    """The header lines about the model, in plain words."""
    settings, table, model = result.model_settings, result.table, result.model
    summary, metrics = model.summary(), result.metrics
    if settings.family is ModelFamily.scorecard:
        kind = (f"WoE logistic-regression scorecard, {summary['scorecard_features']} "
                "characteristics")
    else:
        kind = f"gradient-boosted trees (XGBoost), {summary['trees']} trees"
        if summary.get("monotone_features"):
            kind += f", monotone in {summary['monotone_features']} features"
    details = {
        "Model type": kind,
        "Calibration": calibration_text(settings.calibration.value,
                                        getattr(model, "calibrator_", None)),
        "Features kept by selection": (f"{model.n_features_in_} of "
                                       f"{len(table.all_inputs.columns)} candidates"),
        "Feature selection": selection_summary(result),
        "Final fit": final_fit(result),
    }
    if oracle is not None:
        name = "out-of-time" if result.test_split == "oot" else result.test_split
        details[f"Oracle AUC (simulator's true PD), {name}"] = f"{oracle:.4f}"
    if "cv/auc_mean" in metrics:
        details["Cross-validated AUC"] = (
            f"{metrics['cv/auc_mean']:.4f} ± {metrics['cv/auc_std']:.4f} "
            f"({int(metrics['cv/folds'])} folds)")
    return details


def selection_summary(result: PdTrainingResult) -> str:
    """Which rule set chose the features, in words."""
    rules = result.selection.resolved_rules(result.model_settings.family.value)
    return {"trees": "tree-model rules (only unusable features dropped: all missing, constant, "
                     "identifier-like)",
            "scorecard": "scorecard rules (missing, single value, IV, PSI, correlation)"}[rules]


def final_fit(result: PdTrainingResult) -> str:
    """Which rows the final model was fitted on, in words."""
    refit = result.evaluated.metrics.get("fit/refit_rows")
    if refit is None:
        return "fitted on the development split"
    return (f"refitted on {int(refit):,} pre-test rows with the settings validation chose "
            "(the test period untouched)")


def _plain(value: Any) -> str:
    text = str(value)
    return {"true": "yes", "false": "no"}.get(text.lower(), text)


def pd_validation_report(
    result: PdTrainingResult, model_name: str, *, run_id: str = "",
    details: Mapping[str, str] | None = None,
) -> str:
    """The validation report's HTML."""
    return build_validation_report(pd_report_inputs(result, model_name, run_id=run_id,
                                                    details=details))
