"""Selection per model family and its honesty: the trees rules keep what trees can use, the
scorecard rules screen as before, and nothing the test period holds changes which features a
model may use (stability compares development with the pre-test periods only)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credit_models.features.selection import FeatureSelector
from credit_models.features.selection_config import SelectionConfig
from credit_models.workflows.pd_training import modelling_table

ROWS = 1200


def _frame(rows: int = ROWS, seed: int = 5) -> tuple[pd.DataFrame, pd.Series]:
    """Features a scorecard would drop but trees can use (a weak one, a near-copy), and ones no
    model can use (constant, all missing, identifiers)."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    weak = rng.normal(size=rows)
    log_odds = -1.5 + 1.2 * signal + 0.08 * weak
    frame = pd.DataFrame({
        "signal": signal,
        "signal_copy": signal + rng.normal(scale=0.01, size=rows),
        "weak": weak,
        "constant": np.full(rows, 3.0),
        "all_missing": np.full(rows, np.nan),
        "order_number": np.arange(rows, dtype="float64") + 1000.0,
        "reference": pd.Categorical([f"ref-{i}" for i in rng.permutation(rows)]),
        "channel": pd.Categorical(rng.choice(["app", "web", "store"], size=rows)),
    })
    is_bad = pd.Series(rng.random(rows) < 1 / (1 + np.exp(-log_odds)))
    return frame, is_bad


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    return _frame()


def test_the_trees_rules_drop_only_what_no_model_can_use(data):
    frame, is_bad = data
    selector = FeatureSelector(rules="trees").fit(frame, is_bad)
    report = selector.selection_report_.set_index("feature")
    assert selector.selected_features_ == ["signal", "signal_copy", "weak", "channel"]
    assert report.at["constant", "reason"] == "unusable: constant"
    assert report.at["all_missing", "reason"] == "unusable: missing in every development row"
    assert report.at["order_number", "reason"].startswith("unusable: identifier-like")
    assert report.at["reference", "reason"].startswith("unusable: identifier-like")
    assert report["iv"].notna().all()                 # measured and reported all the same
    assert selector.correlation_ is None


def test_the_scorecard_rules_still_drop_weak_and_redundant_features(data):
    frame, is_bad = data
    selector = FeatureSelector(rules="scorecard", min_iv=0.1).fit(frame, is_bad)
    report = selector.selection_report_.set_index("feature")
    assert "signal" in selector.selected_features_
    assert report.at["signal_copy", "reason"].startswith("correlated with signal")
    assert report.at["weak", "reason"].startswith("iv ")
    assert not {"reference", "order_number", "constant"} & set(selector.selected_features_)


def test_without_iv_the_trees_rules_decide_alike_and_skip_the_binning(data):
    frame, is_bad = data
    measured = FeatureSelector(rules="trees").fit(frame, is_bad)
    light = FeatureSelector(rules="trees", measure_iv=False).fit(frame, is_bad)
    assert light.selected_features_ == measured.selected_features_
    assert light.binner_ is None and light.selection_report_["iv"].isna().all()
    with pytest.raises(ValueError, match="measure_iv=False is for rules='trees'"):
        FeatureSelector(rules="scorecard", measure_iv=False).fit(frame, is_bad)
    with pytest.raises(ValueError, match="rules must be one of"):
        FeatureSelector(rules="forest").fit(frame, is_bad)


def test_auto_rules_follow_the_model_family_and_exclude_patterns_name_themselves():
    config = SelectionConfig(exclude=["*_after_*", "channel"])
    assert config.build("xgboost").rules == "trees"
    assert config.build("scorecard").rules == "scorecard"
    assert SelectionConfig(rules="scorecard").build("xgboost").rules == "scorecard"
    assert config.excluded(["balance_after_default", "channel", "signal"]) == {
        "balance_after_default": "excluded by selection.exclude ('*_after_*')",
        "channel": "excluded by selection.exclude ('channel')",
    }


def _training_data(frame: pd.DataFrame, is_bad: pd.Series) -> SimpleNamespace:
    """What :func:`modelling_table` reads of a TrainingData: development, the pre-test periods
    (validation, calibration) and the out-of-time test period, in time order."""
    position = np.arange(len(frame)) / len(frame)
    split = pd.Series(np.select([position < 0.55, position < 0.7, position < 0.8],
                                ["dev", "valid", "calibration"], "oot"))
    names = list(frame.columns)
    return SimpleNamespace(
        split=split, labelled=pd.DataFrame({"is_bad": is_bad}),
        features=SimpleNamespace(frame=frame, feature_names=names,
                                 descriptions={name: name for name in names}),
        splitter=SimpleNamespace(evaluation_split="oot"), feature_cache=None,
    )


def _drifting(rows: int = 800, seed: int = 11) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    frame = pd.DataFrame({"signal": signal, "noise": rng.normal(size=rows),
                          "mix": rng.choice([0.0, 1.0, 2.0], size=rows)})
    return frame, pd.Series(rng.random(rows) < 1 / (1 + np.exp(1.5 - signal)))


@pytest.fixture(scope="module")
def drifting_baseline() -> pd.DataFrame:
    frame, is_bad = _drifting()
    return modelling_table(_training_data(frame, is_bad), FeatureSelector(min_iv=0.0), True
                           ).selection_report


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(shift=st.floats(-50, 50), scale=st.floats(0.0, 20.0), missing=st.floats(0.0, 1.0),
       flip=st.booleans(), seed=st.integers(0, 2**16))
def test_no_change_to_test_period_rows_changes_the_selection(
    drifting_baseline, shift, scale, missing, flip, seed
):
    frame, is_bad = _drifting()
    data = _training_data(frame, is_bad)
    test_rows = (data.split == "oot").to_numpy()
    rng = np.random.default_rng(seed)
    changed = frame.copy()
    for name in changed:
        values = changed.loc[test_rows, name] * scale + shift
        changed.loc[test_rows, name] = values.where(rng.random(int(test_rows.sum())) >= missing)
    labels = is_bad.copy()
    if flip:
        labels[test_rows] = ~labels[test_rows]
    report = modelling_table(_training_data(changed, labels), FeatureSelector(min_iv=0.0), True
                             ).selection_report
    pd.testing.assert_frame_equal(report, drifting_baseline)


def test_stability_is_measured_against_the_pre_test_periods(drifting_baseline):
    frame, is_bad = _drifting()
    data = _training_data(frame, is_bad)
    drifted = frame.copy()
    pre_test = data.split.isin(["valid", "calibration"]).to_numpy()
    drifted.loc[pre_test, "mix"] = 2.0                  # the product mix moved before the test
    report = modelling_table(_training_data(drifted, is_bad), FeatureSelector(min_iv=0.0), True
                             ).selection_report.set_index("feature")
    assert report.at["mix", "reason"].startswith("psi ")
    assert drifting_baseline.set_index("feature").at["mix", "kept"]


def test_a_fold_selects_its_features_on_its_own_training_rows(data):
    frame, is_bad = data
    table = modelling_table(_training_data(frame, is_bad), FeatureSelector(rules="trees"), True)
    assert "weak" in table.inputs
    fold_rows = frame.index[:400]
    only_in_fold = frame.copy()
    only_in_fold.loc[fold_rows, "weak"] = 1.0           # constant on the fold's rows only
    table = modelling_table(_training_data(only_in_fold, is_bad), FeatureSelector(rules="trees"),
                            True)
    assert "weak" in table.inputs                       # varies over development as a whole
    assert "weak" not in table.selected_on(fold_rows)
    assert "signal" in table.selected_on(fold_rows)


def test_the_trees_rules_measure_iv_on_a_stratified_sample_of_a_large_development(
    data, monkeypatch
):
    from credit_models.features import selection
    frame, is_bad = data
    monkeypatch.setattr(selection, "TREES_IV_SAMPLE_ROWS", 600)
    sampled = FeatureSelector(rules="trees").fit(frame, is_bad)
    assert sampled.binner_.bin_counts("signal").sum() == pytest.approx(600, abs=1)
    assert sampled.selected_features_ == FeatureSelector(rules="trees").fit(
        frame, is_bad).selected_features_            # decisions never depend on the sample
    scorecard = FeatureSelector(rules="scorecard").fit(frame, is_bad)
    assert scorecard.binner_.bin_counts("signal").sum() == len(frame)
