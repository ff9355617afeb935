"""Fitting and evaluating a PD model on assembled training data, with no Hydra or MLflow in
sight: the train job and the tuner both call these, so a tuning trial and the final run are the
same computation."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from numpy.typing import ArrayLike

from credit_models.errors import ConfigError, TrainingDataError
from credit_models.evaluation.fairness import FairnessReview, fairness_review
from credit_models.evaluation.metrics import evaluate_split_metrics, ranking_metrics
from credit_models.features.selection import FeatureSelector
from credit_models.features.sensitive import SensitiveAttributes
from credit_models.models.pd_model import (
    CalibrationMethod,
    ModelSettings,
    PdModel,
    fit_pd_model,
    refit_for_fold,
)
from credit_models.models.xgb_pd import model_inputs
from credit_models.workflows.training_data import TrainingData
from credit_models.split.names import CALIBRATION, DEVELOPMENT, UNUSED, VALIDATION

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModellingTable:
    """The rows and columns a PD model is fitted and judged on."""

    all_inputs: pd.DataFrame
    """Every feature as a model input (numbers float64, text categorical)."""
    inputs: pd.DataFrame
    """The features the model uses (the selector's choice, or all)."""
    is_bad: pd.Series
    split: pd.Series
    selection_report: pd.DataFrame

    def rows(self, name: str) -> pd.Series:
        return self.split == name


@dataclass(frozen=True)
class EvaluatedModel:
    model: PdModel
    probability: pd.Series
    """Calibrated PD of every row (``unused`` rows included, for completeness)."""
    raw_probability: pd.Series
    metrics: dict[str, float]
    cv_metrics: pd.DataFrame | None


def check_trainable(table_split: pd.Series, is_bad: pd.Series, periods: tuple[str, ...]) -> None:
    """Refuse data that cannot give a sound model, naming each period and its counts."""
    problems = []
    for name in periods:
        part = is_bad[table_split == name]
        bads = int(part.sum())
        if len(part) == 0:
            problems.append(f"the {name} split is empty")
        elif bads == 0 or bads == len(part):
            problems.append(
                f"the {name} split has {len(part):,} rows and {bads:,} bads: both classes are "
                f"needed"
            )
    if problems:
        raise TrainingDataError("cannot train the PD model: " + "; ".join(problems))


def check_calibration_split(settings: ModelSettings, periods: tuple[str, ...]) -> None:
    if settings.calibration is not CalibrationMethod.none and CALIBRATION not in periods:
        raise ConfigError(
            f"model.calibration={settings.calibration.value} needs a calibration split; set "
            f"split.calibration_months >= 1 or model.calibration=none"
        )


def check_features_present(inputs: pd.DataFrame, split: pd.Series) -> None:
    """Every model input entirely missing in development is an error, naming the first few."""
    development = inputs[split == DEVELOPMENT]
    empty = [name for name in development.columns if development[name].isna().all()]
    if len(empty) == development.shape[1]:
        raise TrainingDataError(
            f"every one of the {len(empty)} model features is missing in all "
            f"{len(development):,} development rows (e.g. {empty[:5]}): check the data source "
            f"and the feature spec"
        )


def modelling_table(
    data: TrainingData, selector: FeatureSelector, select_features: bool,
    sensitive: SensitiveAttributes | None = None,
) -> ModellingTable:
    """Fit the selector on development rows and keep its features (or all but the sensitive
    attributes, when ``sensitive.exclude_from_model``; None: ``conf/fairness/default.yaml``)."""
    split, is_bad = data.split, data.labelled["is_bad"]
    all_inputs = model_inputs(data.features.frame, data.features.feature_names)
    check_features_present(all_inputs, split)
    comparison = split == data.splitter.evaluation_split
    sensitive = SensitiveAttributes.default() if sensitive is None else sensitive
    excluded = sensitive.excluded_from_model(all_inputs.columns)
    selector.fit(
        all_inputs[split == DEVELOPMENT], is_bad[split == DEVELOPMENT],
        comparison=all_inputs[comparison], descriptions=data.features.descriptions,
        excluded=excluded,
    )
    kept = (list(selector.get_feature_names_out()) if select_features
            else [name for name in all_inputs if name not in excluded])
    return ModellingTable(all_inputs, all_inputs[kept], is_bad, split, selector.selection_report_)


def fit_and_evaluate(
    table: ModellingTable, settings: ModelSettings, seed: int, data: TrainingData,
) -> EvaluatedModel:
    """Fit on development (early stopping on validation), calibrate on the calibration split,
    score every row and compute every split's metrics, plus cross-validation when configured."""
    periods = data.splitter.periods
    check_calibration_split(settings, periods)
    check_trainable(table.split, table.is_bad, periods)
    inputs, is_bad, split = table.inputs, table.is_bad, table.split
    model = fit_pd_model(
        settings,
        inputs[split == DEVELOPMENT], is_bad[split == DEVELOPMENT],
        inputs[split == VALIDATION], is_bad[split == VALIDATION], seed,
    )
    if CALIBRATION in periods:
        model.calibrate(inputs[split == CALIBRATION], is_bad[split == CALIBRATION])
    raw = pd.Series(model.raw_probability(inputs), index=inputs.index)
    probability = pd.Series(model.probability(inputs), index=inputs.index)
    used = split != UNUSED
    metrics = evaluate_split_metrics(is_bad[used], probability[used], split[used])
    metrics.update({
        f"{name}/ece_uncalibrated": value
        for name, value in _uncalibrated_ece(is_bad[used], raw[used], split[used]).items()
    })
    cv_table = cross_validate(model, table, data, seed)
    if cv_table is not None:
        metrics.update({"cv/auc_mean": float(cv_table["auc"].mean()),
                        "cv/auc_std": float(cv_table["auc"].std(ddof=1)),
                        "cv/folds": float(len(cv_table))})
    return EvaluatedModel(model, probability, raw, metrics, cv_table)


def _uncalibrated_ece(is_bad: pd.Series, raw: pd.Series, split: pd.Series) -> dict[str, float]:
    table = evaluate_split_metrics(is_bad, raw, split)
    return {key.split("/")[0]: value for key, value in table.items() if key.endswith("/ece")}


def cross_validate(
    model: PdModel, table: ModellingTable, data: TrainingData, seed: int
) -> pd.DataFrame | None:
    """Refit the model on each fold the splitter defines; AUC and KS on each held-out fold."""
    rows = data.labelled[["customer_id", "as_of", "is_bad"]]
    folds = data.splitter.folds(rows, table.split)
    if not folds:
        return None
    results: list[dict[str, Any]] = []
    for number, (train, held) in enumerate(folds, start=1):
        train_is_bad, held_is_bad = table.is_bad.loc[train], table.is_bad.loc[held]
        if train_is_bad.nunique() < 2 or held_is_bad.nunique() < 2:
            raise TrainingDataError(
                f"cross-validation fold {number} has one class: train {len(train):,} rows "
                f"({int(train_is_bad.sum())} bads), held-out {len(held):,} rows "
                f"({int(held_is_bad.sum())} bads)"
            )
        fitted = refit_for_fold(model, table.inputs.loc[train], train_is_bad, seed)
        scores = fitted.raw_probability(table.inputs.loc[held])
        results.append({"fold": number, "train_rows": len(train), "held_rows": len(held),
                        "held_bads": int(held_is_bad.sum()),
                        **ranking_metrics(held_is_bad.to_numpy(), scores)})
        logger.info("CV fold %d/%d: AUC %.4f on %s rows", number, len(folds),
                    results[-1]["auc"], f"{len(held):,}")
    return pd.DataFrame(results)



def review_fairness(
    fairness: Mapping[str, Any], probability: ArrayLike, features: pd.DataFrame,
    model_inputs: Sequence[str], *, is_bad: ArrayLike, limit: ArrayLike | None = None,
) -> FairnessReview:
    """The fairness review with the ``fairness`` config group's settings (sensitive attributes,
    approval cut-off, age bands, smallest group shown), for the PD and the limit reports alike."""
    return fairness_review(
        probability, features, SensitiveAttributes.from_config(fairness),
        model_inputs=model_inputs, approval_pd_cutoff=float(fairness["approval_pd_cutoff"]),
        age_bands=[float(edge) for edge in fairness["age_bands"]],
        min_group_rows=int(fairness["min_group_rows"]), is_bad=is_bad, limit=limit,
    )
