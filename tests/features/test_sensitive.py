"""Sensitive attributes kept out of the model when ``fairness.exclude_from_model`` is on."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from credit_models.features.selection import FeatureSelector
from credit_models.features.sensitive import SENSITIVE_REASON, SensitiveAttributes
from credit_models.models.pd_model import PdModel
from credit_models.models.settings import ModelSettings
from credit_models.workflows.pd_training import modelling_table

AGE = "customer__age__value"
MARRIAGE = "customer__marriage__value"
LATE = "cures__days_late__max__90d"
UTILISATION = "limit__utilisation__current"


def _training_data(rows: int = 1500, seed: int = 3) -> SimpleNamespace:
    """What :func:`modelling_table` reads of a TrainingData: age and marriage predict defaults as
    well as the behaviour features, so only the exclusion keeps them out."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 70, rows).astype("float64")
    marriage = rng.integers(1, 4, rows).astype("float64")
    late = np.where(rng.random(rows) < 0.7, 0.0, rng.integers(1, 60, rows)).astype("float64")
    utilisation = rng.beta(2, 3, rows)
    log_odds = -2.5 + 1.8 * (age < 26) + 0.6 * (marriage == 3) + 0.04 * late + 2.0 * utilisation
    frame = pd.DataFrame({AGE: age, MARRIAGE: marriage, LATE: late, UTILISATION: utilisation})
    split = pd.Series(np.where(np.arange(rows) < rows * 0.6, "dev",
                               np.where(np.arange(rows) < rows * 0.8, "valid", "oot")))
    names = list(frame.columns)
    return SimpleNamespace(
        split=split,
        labelled=pd.DataFrame({"is_bad": rng.random(rows) < 1 / (1 + np.exp(-log_odds))}),
        features=SimpleNamespace(frame=frame, feature_names=names,
                                 descriptions={name: name for name in names}),
        splitter=SimpleNamespace(evaluation_split="oot"), feature_cache=None,
    )


def _sensitive(exclude: bool) -> SensitiveAttributes:
    return SensitiveAttributes.from_config({**SensitiveAttributes.default().to_config(),
                                            "exclude_from_model": exclude})


@pytest.mark.parametrize("select_features", [True, False])
def test_excluded_sensitive_attributes_are_no_model_input(select_features):
    data = _training_data()
    table = modelling_table(data, FeatureSelector(min_iv=0.0, max_iv=None), select_features,
                            _sensitive(exclude=True))
    assert list(table.inputs.columns) == [LATE, UTILISATION]
    report = table.selection_report.set_index("feature")
    assert report.loc[AGE, "reason"] == f"{SENSITIVE_REASON} (age)"
    assert report.loc[MARRIAGE, "reason"] == f"{SENSITIVE_REASON} (marital_status)"
    assert not report.loc[[AGE, MARRIAGE], "kept"].any()
    assert report.loc[AGE, "iv"] > 0.05                    # strong: only the exclusion dropped it
    split = table.split
    settings = ModelSettings(**{"name": "pd", "family": "xgboost", "params": {
        "n_estimators": 20, "max_depth": 2, "n_jobs": 1}, "calibration": "none"})
    model = PdModel.from_settings(settings, random_state=1).fit(
        table.inputs[split == "dev"], table.is_bad[split == "dev"],
        eval_set=(table.inputs[split == "valid"], table.is_bad[split == "valid"]))
    assert not SensitiveAttributes.default().features(list(model.feature_names_in_))


def test_sensitive_attributes_stay_model_inputs_unless_excluded():
    table = modelling_table(_training_data(), FeatureSelector(min_iv=0.0, max_iv=None), True,
                            _sensitive(exclude=False))
    assert AGE in table.inputs.columns
    assert not table.selection_report["reason"].str.startswith(SENSITIVE_REASON).any()


def test_excluding_a_feature_the_data_lacks_is_refused():
    data = _training_data(rows=400)
    with pytest.raises(ValueError, match="not in X"):
        FeatureSelector().fit(data.features.frame, data.labelled["is_bad"],
                              excluded={"customer__sex__value": SENSITIVE_REASON})
