"""Training a PD model end to end, with no Hydra or MLflow in sight: data → modelling table →
fit and evaluation → oracle, global explanations and fairness review, returned as one
:class:`PdTrainingResult` that tracking logs and reporting renders. The train job and the tuner
both call these, so a tuning trial and the final run are the same computation."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import clone
from sklearn.model_selection import StratifiedGroupKFold

from credit_models.errors import TrainingDataError
from credit_models.evaluation.fairness import FairnessReview, fairness_review
from credit_models.evaluation.metrics import evaluate_split_metrics, ranking_metrics
from credit_models.evaluation.validation_thresholds import ValidationThresholds
from credit_models.explain.contributions import Contributions, model_contributions
from credit_models.explain.global_explanations import importance_drift, shap_importance
from credit_models.features.selection import FeatureSelector
from credit_models.features.selection_cache import cached_selection, selection_key
from credit_models.features.selection_config import SelectionConfig
from credit_models.features.sensitive import FairnessSettings, SensitiveAttributes
from credit_models.models.pd_model import PdModel
from credit_models.models.settings import CalibrationMethod, ModelFamily, ModelSettings
from credit_models.models.xgb_pd import model_inputs
from credit_models.split.names import CALIBRATION, DEVELOPMENT, UNUSED, VALIDATION
from credit_models.workflows.distributed.cluster import engine_session
from credit_models.workflows.oracle import oracle_metrics
from credit_models.workflows.settings import TrainSettings
from credit_models.workflows.training_data import Stage, TrainingData, assemble_training_data

logger = logging.getLogger(__name__)

TREE_COUNT_FOLDS = 5
"""Folds of the cross-validation that sets XGBoost's tree count when validation is too small."""
MAXIMISED_METRICS = frozenset({"auc", "aucpr", "map", "ndcg", "pre"})
"""XGBoost evaluation metrics where higher is better (the others are losses or errors)."""

EXPLAIN_SAMPLE_ROWS = 10_000
"""Rows per split explained for the global explanations: enough for stable mean |SHAP|, bounded
time."""


def timed_stage(log: logging.Logger) -> Stage:
    """A stage reporter that prefixes each message with the seconds since it was made."""
    started = time.perf_counter()

    def stage(message: str, *args: Any) -> None:
        log.info("[%6.1fs] " + message, time.perf_counter() - started, *args)

    return stage


def _quiet_stage(message: str, *args: Any) -> None:
    logger.info(message, *args)


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
    selector: FeatureSelector | None = None
    """The fitted selector (refitted inside each cross-validation fold)."""
    excluded: dict[str, str] = field(default_factory=dict)
    """Features the model must not use (sensitive, ``selection.exclude``) → why."""
    select_features: bool = True

    def rows(self, name: str) -> pd.Series:
        return self.split == name

    def selected_on(self, rows: pd.Index) -> list[str]:
        """The features selection keeps when fitted on ``rows`` only (all but the excluded
        ones when features are not selected): what a cross-validation fold trains on, so that
        no fold's features were chosen with its held-out rows."""
        if not self.select_features or self.selector is None:
            return [name for name in self.all_inputs if name not in self.excluded]
        selector = clone(self.selector)
        if selector.rules == "trees":
            selector.set_params(measure_iv=False)   # its decisions need no binning
        selector.fit(self.all_inputs.loc[rows], self.is_bad.loc[rows], excluded=self.excluded)
        return list(selector.get_feature_names_out())


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
    sensitive: SensitiveAttributes | None = None, excluded: Mapping[str, str] | None = None,
) -> ModellingTable:
    """Fit the selector on development rows (or read it back from the feature matrix's cache
    entry, where the same selection was fitted before) and keep its features (or all but the
    excluded ones: the sensitive attributes when ``sensitive.exclude_from_model`` — None:
    ``conf/fairness/default.yaml`` — and ``excluded``, feature → reason).

    Stability (PSI) compares development with the pre-test periods after it (validation and
    calibration), never with the test period: which features a model may use must not depend
    on data from after the day it is built."""
    split, is_bad = data.split, data.labelled["is_bad"]
    all_inputs = model_inputs(data.features.frame, data.features.feature_names)
    check_features_present(all_inputs, split)
    comparison = split.isin([VALIDATION, CALIBRATION])
    sensitive = SensitiveAttributes.default() if sensitive is None else sensitive
    excluded = {**dict(excluded or {}), **sensitive.excluded_from_model(all_inputs.columns)}
    development = split == DEVELOPMENT
    selector = cached_selection(
        data.feature_cache, selection_key(selector, is_bad[development], split[comparison],
                                          excluded),
        lambda: selector.fit(
            all_inputs[development], is_bad[development],
            comparison=all_inputs[comparison] if comparison.any() else None,
            descriptions=data.features.descriptions, excluded=excluded,
        ))
    kept = (list(selector.get_feature_names_out()) if select_features
            else [name for name in all_inputs if name not in excluded])
    return ModellingTable(all_inputs, all_inputs[kept], is_bad, split, selector.selection_report_,
                          selector=selector, excluded=excluded, select_features=select_features)


def fit_and_evaluate(
    table: ModellingTable, settings: ModelSettings, seed: int, data: TrainingData,
    *, refit: bool = False,
) -> EvaluatedModel:
    """Fit on development (early stopping on validation), calibrate on the calibration split,
    score every row and compute every split's metrics, plus cross-validation when configured.

    The tree count comes from early stopping on validation, from grouped cross-validation when
    validation holds fewer than ``settings.min_validation_bads`` bads, or is fixed
    (``early_stopping_rounds: null``). With ``refit`` the final model is refitted with that
    tree count on development and validation rows (and calibration rows when nothing is
    calibrated): the model then reaches the test period, which stays untouched, and where the
    split kept the test's customers out of development it keeps them out of the refit too.
    ``valid/*`` metrics stay those of the validated model, whose tree count validation chose."""
    periods = data.splitter.periods
    check_trainable(table.split, table.is_bad, periods)
    inputs, is_bad, split = table.inputs, table.is_bad, table.split
    calibration_set = ((inputs[split == CALIBRATION], is_bad[split == CALIBRATION])
                       if CALIBRATION in periods else None)
    model = PdModel.from_settings(settings, random_state=seed)
    development = split == DEVELOPMENT
    if _validation_too_small(settings, is_bad[split == VALIDATION]):
        trees = cv_tree_count(table, data.labelled["customer_id"], settings, seed)
        model.set_params(early_stopping_rounds=None,
                         params={**settings.params, "n_estimators": trees})
    model = model.fit(
        inputs[development], is_bad[development],
        eval_set=(inputs[split == VALIDATION], is_bad[split == VALIDATION]),
        calibration_set=calibration_set,
    )
    validated = model
    if refit:
        fitted_on = development | (split == VALIDATION)
        if model.calibrator_ is None:        # nothing to calibrate: no row to keep out
            fitted_on |= split == CALIBRATION
        fitted_on &= ~_kept_out_of_fitting(data.labelled["customer_id"], split,
                                           data.splitter.evaluation_split)
        model = validated.fixed_trees().fit(inputs[fitted_on], is_bad[fitted_on],
                                            calibration_set=calibration_set)
        logger.info("refitted on %s pre-test rows (%s) with %s", f"{int(fitted_on.sum()):,}",
                    ", ".join(sorted(set(split[fitted_on]))), _trees_text(model))
    raw = pd.Series(model.predict_raw_proba(inputs)[:, 1], index=inputs.index)
    probability = pd.Series(model.predict_proba(inputs)[:, 1], index=inputs.index)
    used = split != UNUSED
    metrics = evaluate_split_metrics(is_bad[used], probability[used], split[used])
    metrics.update({
        f"{name}/ece_uncalibrated": value
        for name, value in _uncalibrated_ece(is_bad[used], raw[used], split[used]).items()
    })
    if refit:     # validation judged the validated model (its PSI against development too)
        rows = split.isin([DEVELOPMENT, VALIDATION])
        before = evaluate_split_metrics(is_bad[rows], pd.Series(
            validated.predict_proba(inputs[rows])[:, 1], index=inputs.index[rows]), split[rows])
        metrics.update({key: value for key, value in before.items()
                        if key.startswith(f"{VALIDATION}/")})
        metrics["fit/refit_rows"] = float(fitted_on.sum())
    cv_table = cross_validate(model, table, data)
    if cv_table is not None:
        metrics.update({"cv/auc_mean": float(cv_table["auc"].mean()),
                        "cv/auc_std": float(cv_table["auc"].std(ddof=1)),
                        "cv/folds": float(len(cv_table))})
    return EvaluatedModel(model, probability, raw, metrics, cv_table)


def _kept_out_of_fitting(customers: pd.Series, split: pd.Series, test_split: str) -> pd.Series:
    """Rows the refit must leave out: when the split kept the test's customers out of
    development (customer grouping, or one row per customer), their other rows too, so that the
    refitted model is still never judged on a customer it was fitted on."""
    in_test = customers.isin(set(customers[split == test_split]))
    if (in_test & (split == DEVELOPMENT)).any():
        return pd.Series(False, index=split.index)
    return in_test


def _trees_text(model: PdModel) -> str:
    summary = model.summary()
    return (f"{summary['trees']} trees" if "trees" in summary
            else f"{summary['scorecard_features']} scorecard features")


def _validation_too_small(settings: ModelSettings, validation_is_bad: pd.Series) -> bool:
    """Whether early stopping would follow noise: too few validation bads (XGBoost only)."""
    if settings.family is not ModelFamily.xgboost or settings.early_stopping_rounds is None:
        return False
    bads = int(validation_is_bad.sum())
    if bads >= settings.min_validation_bads:
        return False
    logger.warning(
        "the validation split has %d bads (fewer than model.min_validation_bads=%d): early "
        "stopping on it would follow noise; the tree count comes from grouped %d-fold "
        "cross-validation on the development and validation rows instead", bads,
        settings.min_validation_bads, TREE_COUNT_FOLDS)
    return True


def cv_tree_count(
    table: ModellingTable, customers: pd.Series, settings: ModelSettings, seed: int
) -> int:
    """The tree count of the best mean validation curve over a customer-grouped,
    outcome-stratified K-fold on the development and validation rows (never the test's or the
    calibration's), as ``xgboost.cv`` chooses it: each fold grows every tree and records its
    held-out metric per round; the round with the best mean wins. Averaging the curves is what
    makes it stable where one small validation split is not."""
    rows = table.split.isin([DEVELOPMENT, VALIDATION]).to_numpy()
    inputs, is_bad = table.inputs[rows], table.is_bad[rows]
    folds = StratifiedGroupKFold(n_splits=TREE_COUNT_FOLDS, shuffle=True, random_state=seed)
    curves = []
    for train, held in folds.split(inputs, is_bad.astype(int), groups=customers[rows]):
        fitted = PdModel.from_settings(settings, random_state=seed).set_params(
            early_stopping_rounds=None, calibration=CalibrationMethod.none.value,
        ).fit(inputs.iloc[train], is_bad.iloc[train],
              eval_set=(inputs.iloc[held], is_bad.iloc[held]))
        # the last metric is the one early stopping would follow
        metric, curve = list(fitted.estimator_.evals_result()["validation_0"].items())[-1]
        curves.append(curve)
    mean = np.mean(curves, axis=0)
    best = int(np.argmax(mean) if metric in MAXIMISED_METRICS else np.argmin(mean))
    logger.info("cross-validated tree count: %d (mean held-out %s %.4f over %d folds)",
                best + 1, metric, mean[best], len(curves))
    return best + 1


def _uncalibrated_ece(is_bad: pd.Series, raw: pd.Series, split: pd.Series) -> dict[str, float]:
    table = evaluate_split_metrics(is_bad, raw, split)
    return {key.split("/")[0]: value for key, value in table.items() if key.endswith("/ece")}


def cross_validate(
    model: PdModel, table: ModellingTable, data: TrainingData
) -> pd.DataFrame | None:
    """Refit selection and model on each fold the splitter defines (:meth:`PdModel.fixed_trees`:
    no early stopping inside a fold; features selected on the fold's training rows only, without
    the PSI rule, which has no later period inside a fold); AUC and KS of the raw probability on
    each held-out fold."""
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
        features = table.selected_on(train)
        fitted = model.fixed_trees().fit(table.all_inputs.loc[train, features], train_is_bad)
        scores = fitted.predict_raw_proba(table.all_inputs.loc[held, features])[:, 1]
        results.append({"fold": number, "train_rows": len(train), "held_rows": len(held),
                        "held_bads": int(held_is_bad.sum()),
                        **ranking_metrics(held_is_bad.to_numpy(), scores)})
        logger.info("CV fold %d/%d: AUC %.4f on %s rows", number, len(folds),
                    results[-1]["auc"], f"{len(held):,}")
    return pd.DataFrame(results)



def review_fairness(
    fairness: FairnessSettings, probability: ArrayLike, features: pd.DataFrame,
    model_inputs: Sequence[str], *, is_bad: ArrayLike, limit: ArrayLike | None = None,
) -> FairnessReview:
    """The fairness review with the ``fairness`` config group's settings (sensitive attributes,
    approval cut-off, age bands, smallest group shown), for the PD and the limit reports alike."""
    return fairness_review(
        probability, features, fairness.sensitive,
        model_inputs=model_inputs, approval_pd_cutoff=fairness.approval_pd_cutoff,
        age_bands=list(fairness.age_bands),
        min_group_rows=fairness.min_group_rows, is_bad=is_bad, limit=limit,
    )


@dataclass(frozen=True)
class PdModellingData:
    """The training rows and the modelling table built from them once: a training run fits on
    them, a tuning study fits every trial on them."""

    data: TrainingData
    table: ModellingTable

    @property
    def test_split(self) -> str:
        return self.data.splitter.evaluation_split


@dataclass(frozen=True)
class GlobalExplanations:
    """The model's global explanations in log-odds (TreeSHAP for trees, coefficient × WoE for a
    scorecard) on a sample of the test and development rows."""

    test: Contributions
    test_rows: pd.DataFrame
    """The explained test rows (the model's features), aligned with ``test``."""
    importance: pd.Series
    """Mean |contribution| of each feature on the test split."""
    drift: pd.DataFrame
    """How each feature's mean |contribution| moved from development to the test split."""
    splits: tuple[str, str]
    """The two splits of ``drift``: development, then the test split."""
    label: str = "mean |SHAP| (log-odds)"


@dataclass(frozen=True)
class PdTrainingResult:
    """Everything a training run produced, ready to be logged (tracking) or reported
    (reporting)."""

    model_settings: ModelSettings
    """The settings the model was fitted with (name, family, params, calibration)."""
    data: TrainingData
    table: ModellingTable
    evaluated: EvaluatedModel
    oracle: dict[str, float]
    """The true PD's ranking of the test rows (simulated data only; else empty)."""
    explanations: GlobalExplanations
    fairness: FairnessReview
    """Approval and PD by sensitive group on the test split."""
    segments: dict[str, Any]
    """Each configured segment column's values, one per modelling-table row."""
    selection: SelectionConfig
    """The selection thresholds the table's features were chosen by."""
    validation: ValidationThresholds = field(default_factory=ValidationThresholds)
    """The pass and watch levels the validation report judges the model by."""

    @property
    def model(self) -> PdModel:
        return self.evaluated.model

    @property
    def test_split(self) -> str:
        return self.data.splitter.evaluation_split

    @property
    def metrics(self) -> dict[str, float]:
        """Every split's metrics, cross-validation's and the oracle's."""
        return {**self.evaluated.metrics, **self.oracle}

    @property
    def fit_metrics(self) -> dict[str, float]:
        """The fit's own numbers (e.g. ``fit/best_iteration``)."""
        return fit_metrics(self.model)


def fit_metrics(model: PdModel) -> dict[str, float]:
    """The model's numeric summary as ``fit/<key>`` metrics."""
    return {f"fit/{key}": float(value) for key, value in model.summary().items()
            if isinstance(value, int | float)}


def prepare_pd_training(
    settings: TrainSettings, stage: Stage = _quiet_stage
) -> PdModellingData:
    """Assemble the training rows and fit the feature selector on development."""
    data = assemble_training_data(settings, stage)
    selector = settings.selection.build(settings.model.family.value)
    table = modelling_table(data, selector, settings.select_features,
                            settings.fairness.sensitive,
                            excluded=settings.selection.excluded(data.features.feature_names))
    report = table.selection_report
    stage("feature selection (%s rules): %d of %d features kept%s", selector.rules,
          int(report["kept"].sum()), len(report),
          "" if settings.select_features else "; training on all (select_features=false)")
    return PdModellingData(data, table)


def train_pd_model(settings: TrainSettings, stage: Stage = _quiet_stage) -> PdTrainingResult:
    """The whole PD training path: rows, selection, fit, calibration, metrics, explanations.
    With ``engine=dask`` the rows are built and the trees grown on the cluster."""
    with engine_session(settings.engine):
        prepared = prepare_pd_training(settings, stage)
        evaluated = fit_and_evaluate(prepared.table, settings.model, settings.seed,
                                     prepared.data, refit=settings.refit)
    return complete_training(prepared, evaluated, settings, stage)


def complete_training(
    prepared: PdModellingData, evaluated: EvaluatedModel, settings: TrainSettings,
    stage: Stage = _quiet_stage,
) -> PdTrainingResult:
    """What a fitted model is judged by beyond its metrics: the oracle, the global explanations,
    the fairness review and the report's segments."""
    data, table, model = prepared.data, prepared.table, evaluated.model
    stage("%s trained: %s", settings.model.family.value,
          ", ".join(f"{key} {value}" for key, value in model.summary().items()))
    test_split = prepared.test_split
    oracle = oracle_metrics(data, table.split)
    metrics = {**evaluated.metrics, **oracle}
    stage("metrics: %s", ", ".join(
        f"{k} {v:.4f}" for k, v in metrics.items()
        if k.endswith(("/auc", "/ks", "/ece", "ece_uncalibrated", "psi_score", "oracle_auc",
                       "auc_mean"))
    ))
    rows = (table.split == test_split).to_numpy()
    fairness = review_fairness(settings.fairness, evaluated.probability.to_numpy()[rows],
                               table.all_inputs[rows], model.feature_names_in_,
                               is_bad=table.is_bad.to_numpy()[rows])
    return PdTrainingResult(
        model_settings=settings.model, data=data, table=table, evaluated=evaluated, oracle=oracle,
        explanations=global_explanations(model, table, test_split, settings.seed),
        fairness=fairness, segments=configured_segments(settings.report.segment_columns, table),
        selection=settings.selection, validation=settings.validation,
    )


def global_explanations(
    model: PdModel, table: ModellingTable, test_split: str, seed: int
) -> GlobalExplanations:
    """Importance on the test split and its drift from development, each split explained on at
    most :data:`EXPLAIN_SAMPLE_ROWS` rows."""
    test, test_rows = _explained(model, table.inputs[table.split == test_split], seed)
    development, _ = _explained(model, table.inputs[table.split == DEVELOPMENT], seed)
    splits = (DEVELOPMENT, test_split)
    label = ("mean |coefficient × WoE| (log-odds)"
             if model.family == ModelFamily.scorecard.value else "mean |SHAP| (log-odds)")
    return GlobalExplanations(test, test_rows, shap_importance(test),
                              importance_drift(development, test, names=splits), splits, label)


def _explained(model: PdModel, inputs: pd.DataFrame, seed: int
               ) -> tuple[Contributions, pd.DataFrame]:
    rows = inputs if len(inputs) <= EXPLAIN_SAMPLE_ROWS else inputs.sample(
        EXPLAIN_SAMPLE_ROWS, random_state=seed)
    features = list(model.feature_names_in_)
    return model_contributions(model, rows[features]), rows[features]


def configured_segments(columns: Sequence[str], table: ModellingTable) -> dict[str, Any]:
    """Each configured segment column's values (a feature of the matrix)."""
    segments = {}
    for name in columns:
        if name not in table.all_inputs:
            logger.warning("report.segment_columns: %s is not a feature; skipped", name)
            continue
        segments[name] = table.all_inputs[name].astype("str").to_numpy()
    return segments
