"""Where XGBoost's tree count comes from (early stopping, a fixed count, or cross-validation
when validation is too small to stop on) and the refit on every pre-test row, which must leave
the test period untouched."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from credit_models.errors import ConfigError
from credit_models.models.settings import ModelSettings
from credit_models.split.stratified import StratifiedCustomerSplit
from credit_models.workflows.pd_training import ModellingTable, cv_tree_count, fit_and_evaluate

ROWS = 2500


def _data(seed: int = 4, flip_test_labels: bool = False) -> tuple[ModellingTable, SimpleNamespace]:
    rng = np.random.default_rng(seed)
    inputs = pd.DataFrame({"a": rng.normal(size=ROWS), "b": rng.normal(size=ROWS),
                           "c": rng.normal(size=ROWS)})
    log_odds = -1.6 + 1.1 * inputs["a"] - 0.7 * inputs["b"] + 0.4 * inputs["a"] * inputs["c"]
    labelled = pd.DataFrame({
        "customer_id": np.arange(ROWS), "as_of": pd.Timestamp("2024-01-01", tz="UTC"),
        "is_bad": rng.random(ROWS) < 1 / (1 + np.exp(-log_odds)),
    })
    splitter = StratifiedCustomerSplit(cv_folds=0, seed=seed)
    split = splitter.assign(labelled)
    is_bad = labelled["is_bad"].copy()
    if flip_test_labels:
        is_bad[split == "test"] = ~is_bad[split == "test"]
        labelled["is_bad"] = is_bad
    table = ModellingTable(inputs, inputs, is_bad, split, pd.DataFrame())
    return table, SimpleNamespace(splitter=splitter, labelled=labelled, split=split)


def _settings(**changes) -> ModelSettings:
    values = {"params": {"n_estimators": 300, "learning_rate": 0.1, "max_depth": 2, "n_jobs": 1},
              "early_stopping_rounds": 20, "min_validation_bads": 1}
    return ModelSettings(**{**values, **changes})


def test_a_null_patience_grows_the_configured_number_of_trees():
    table, data = _data()
    evaluated = fit_and_evaluate(table, _settings(early_stopping_rounds=None,
                                                  params={"n_estimators": 37, "n_jobs": 1}),
                                 seed=1, data=data)
    assert evaluated.model.summary()["trees"] == 37
    with pytest.raises(ConfigError, match="at least 1 or null"):
        _settings(early_stopping_rounds=0)


def test_early_stopping_on_a_validation_split_with_enough_bads():
    table, data = _data()
    evaluated = fit_and_evaluate(table, _settings(), seed=1, data=data)
    assert evaluated.model.summary()["trees"] < 300        # stopped early


def test_too_few_validation_bads_take_the_tree_count_from_cross_validation(caplog):
    table, data = _data()
    settings = _settings(min_validation_bads=100_000)
    with caplog.at_level(logging.WARNING):
        evaluated = fit_and_evaluate(table, settings, seed=1, data=data)
    assert "fewer than model.min_validation_bads=100000" in caplog.text
    expected = cv_tree_count(table, data.labelled["customer_id"], settings, seed=1)
    assert evaluated.model.summary()["trees"] == expected
    assert 1 <= expected < 300


def test_the_cv_tree_count_never_reads_the_test_or_calibration_rows():
    table, data = _data()
    flipped, _ = _data(flip_test_labels=True)
    calibration = table.split == "calibration"
    scrambled = table.inputs.copy()
    scrambled.loc[calibration | (table.split == "test")] = 0.0
    changed = ModellingTable(scrambled, scrambled, flipped.is_bad, table.split, pd.DataFrame())
    customers = data.labelled["customer_id"]
    assert cv_tree_count(changed, customers, _settings(), 1) == cv_tree_count(
        table, customers, _settings(), 1)


def test_the_refit_learns_from_every_pre_test_row_and_never_from_the_test_period():
    table, data = _data()
    validated = fit_and_evaluate(table, _settings(), seed=1, data=data)
    refitted = fit_and_evaluate(table, _settings(), seed=1, data=data, refit=True)
    pre_test = table.split.isin(["dev", "valid"])
    assert refitted.metrics["fit/refit_rows"] == pre_test.sum()
    assert refitted.model.summary()["trees"] == validated.model.best_iteration_ + 1
    assert not np.allclose(refitted.raw_probability, validated.raw_probability)
    # validation metrics stay those of the model validation chose the tree count for
    assert refitted.metrics["valid/auc"] == pytest.approx(validated.metrics["valid/auc"])

    flipped_table, flipped_data = _data(flip_test_labels=True)
    flipped = fit_and_evaluate(flipped_table, _settings(), seed=1, data=flipped_data, refit=True)
    np.testing.assert_array_equal(flipped.probability, refitted.probability)


def test_without_calibration_the_refit_also_takes_the_calibration_rows():
    table, data = _data()
    evaluated = fit_and_evaluate(table, _settings(calibration="none"), seed=1, data=data,
                                 refit=True)
    assert evaluated.metrics["fit/refit_rows"] == (table.split != "test").sum()


def test_the_refit_keeps_the_test_customers_out_where_the_split_did():
    table, data = _data()
    valid, test = (table.split == "valid").to_numpy(), (table.split == "test").to_numpy()
    seen_later = data.labelled.index[valid][:50]
    data.labelled.loc[seen_later, "customer_id"] = data.labelled["customer_id"][test][:50].to_numpy()
    evaluated = fit_and_evaluate(table, _settings(), seed=1, data=data, refit=True)
    assert evaluated.metrics["fit/refit_rows"] == table.split.isin(["dev", "valid"]).sum() - 50
