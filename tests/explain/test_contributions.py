from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from credit_models.explain.contributions import (
    BIAS_COLUMN,
    ContributionMethod,
    independent_tree_shap,
    mean_absolute_shap,
    model_contributions,
    model_margin,
    shap_contributions,
    tree_shap_contributions,
    xgboost_contributions,
)
from credit_models.explain.exported_model import load_model_folder
from credit_models.tracking.pd_pyfunc import feature_contract, write_model_files
from tests.explain.conftest import CITY_TIER, DESCRIPTIONS, FEATURES, fit_model

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")   # shap's colormaps


def _log_odds(probability: np.ndarray) -> np.ndarray:
    probability = np.asarray(probability, dtype="float64")
    return np.log(probability) - np.log1p(-probability)


def test_contributions_add_up_to_the_margin_with_categoricals_and_missing_values():
    generator = np.random.default_rng(3)
    rows = 600
    inputs = pd.DataFrame({
        "days_late": generator.integers(0, 60, rows).astype(float),
        "spend": np.where(generator.random(rows) < 0.2, np.nan, generator.gamma(2.0, 300.0, rows)),
        "tier": pd.Categorical(generator.choice(["a", "b", "c"], rows)),
    })
    logit = 0.05 * inputs["days_late"] - 2 + (inputs["tier"] == "c") * 0.8
    target = generator.random(rows) < 1 / (1 + np.exp(-logit))
    model = xgb.XGBClassifier(n_estimators=40, max_depth=3, enable_categorical=True)
    model.fit(inputs, target)
    contributions = shap_contributions(model.get_booster(), inputs)
    margin = model.get_booster().predict(
        xgb.DMatrix(inputs, enable_categorical=True), output_margin=True
    )
    np.testing.assert_allclose(contributions.sum(axis=1), margin, atol=1e-4)
    importance = mean_absolute_shap(contributions)
    assert BIAS_COLUMN not in importance.index
    assert importance.index[0] == "days_late"


@pytest.mark.parametrize("method", ["auto", "pred_contribs", "shap"])
def test_xgboost_contributions_add_up_to_the_raw_probability_of_every_row(matrix, xgb_model,
                                                                           method):
    inputs = matrix[list(FEATURES)]
    contributions = model_contributions(xgb_model, inputs, method=method)
    assert list(contributions.values.columns) == list(FEATURES)
    assert contributions.values.index.equals(inputs.index)
    margin = _log_odds(xgb_model.predict_raw_proba(inputs)[:, 1])   # uncalibrated, best iteration
    assert np.abs(contributions.margin().to_numpy() - margin).max() <= 1e-4
    assert np.abs(contributions.margin().to_numpy() - model_margin(xgb_model, inputs)).max() <= 1e-4


def test_contributions_use_the_trees_up_to_the_best_iteration(matrix, xgb_model):
    booster = xgb_model.estimator_.get_booster()
    assert booster.num_boosted_rounds() > xgb_model.best_iteration_ + 1   # stopped early
    inputs = matrix[list(FEATURES)]
    every_tree = booster.predict(xgb.DMatrix(inputs, enable_categorical=True), output_margin=True)
    contributions = xgboost_contributions(booster, inputs)
    assert np.abs(contributions.margin().to_numpy() - every_tree).max() > 1e-3
    assert np.allclose(contributions.margin(),
                       _log_odds(xgb_model.predict_raw_proba(inputs)[:, 1]),
                       atol=1e-4)


def test_scorecard_contributions_are_coefficient_times_woe_and_add_up_exactly(matrix,
                                                                            scorecard_model):
    inputs = matrix[list(FEATURES)]
    card = scorecard_model.estimator_
    contributions = model_contributions(scorecard_model, inputs)
    assert contributions.method == "scorecard"
    assert list(contributions.values.columns) == list(card.features_)
    assert contributions.base_value == pytest.approx(card.intercept_)
    margin = _log_odds(scorecard_model.predict_raw_proba(inputs)[:, 1])
    assert np.abs(contributions.margin().to_numpy() - margin).max() <= 1e-4
    # Points turned back into log-odds: points = −factor · coef · WoE.
    points = card.points_by_feature(inputs)
    assert np.allclose(contributions.values, -points / card.score_points_.factor)
    with pytest.raises(ValueError, match="applies to XGBoost"):
        model_contributions(scorecard_model, inputs, method="shap")


def test_shap_tree_explainer_agrees_with_pred_contribs_on_categorical_monotone_model(matrix,
                                                                                   xgb_model):
    booster = xgb_model.estimator_.get_booster()
    assert "c" in booster.feature_types                                   # a categorical split
    assert xgb_model.monotone_                                            # monotone constraints
    inputs = matrix[list(FEATURES)]
    by_shap = tree_shap_contributions(booster, inputs)
    by_xgboost = xgboost_contributions(booster, inputs)
    assert np.abs(by_shap.values - by_xgboost.values).to_numpy().max() <= 1e-4
    assert by_shap.base_value == pytest.approx(by_xgboost.base_value, abs=1e-4)


def test_shaps_own_tree_walker_agrees_on_a_numeric_monotone_model(matrix):
    # shap's TreeExplainer hands XGBoost models to pred_contribs; its own walker is a separate
    # implementation, usable as a cross-check where no split is categorical.
    numeric = [name for name in FEATURES if name != CITY_TIER]
    inputs = matrix[numeric]
    model = xgb.XGBClassifier(n_estimators=60, max_depth=3, n_jobs=1,
                              monotone_constraints={numeric[0]: 1, numeric[1]: 1})
    model.fit(inputs, matrix["is_bad"])
    independent = independent_tree_shap(model, inputs)
    native = xgboost_contributions(model, inputs)
    assert np.abs(independent.values - native.values).to_numpy().max() <= 1e-4
    with pytest.raises(ValueError, match="categorical"):
        independent_tree_shap(fit_model(matrix.head(1000), "xgboost", "none").estimator_,
                              matrix[list(FEATURES)].head(10))


def test_thread_count_does_not_change_contributions(matrix, xgb_model):
    inputs = matrix[list(FEATURES)].head(500)
    one = model_contributions(xgb_model, inputs, method=ContributionMethod.pred_contribs,
                              n_threads=1)
    two = model_contributions(xgb_model, inputs, method="pred_contribs", n_threads=2)
    assert np.array_equal(one.values.to_numpy(), two.values.to_numpy())


@pytest.mark.parametrize("family", ["xgboost", "scorecard"])
def test_exported_model_explains_exactly_as_the_in_memory_model(matrix, xgb_model,
                                                                 scorecard_model, tmp_path, family):
    model = xgb_model if family == "xgboost" else scorecard_model
    inputs = matrix[list(FEATURES)]
    write_model_files(model, feature_contract(inputs, DESCRIPTIONS), tmp_path)
    exported = load_model_folder(tmp_path)
    assert exported.features == list(FEATURES)
    reloaded = exported.inputs(inputs.astype({CITY_TIER: "str"}))    # strings in, as served
    before = model_contributions(model, inputs)
    after = model_contributions(exported.model, reloaded)
    assert np.array_equal(before.values.to_numpy(), after.values.to_numpy())
    assert before.base_value == after.base_value
    assert np.array_equal(model.predict_proba(inputs), exported.model.predict_proba(reloaded))


def test_unknown_method_and_model_are_refused(matrix, xgb_model):
    with pytest.raises(ValueError, match="method must be one of"):
        model_contributions(xgb_model, matrix, method="kernel")
    with pytest.raises(TypeError, match="cannot explain"):
        model_contributions(object(), matrix)
