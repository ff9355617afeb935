from __future__ import annotations

import dataclasses
import io
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from credit_models.data.io import read_manifest, read_tables
from credit_models.evaluation.metrics import psi_from_counts
from credit_models.features.binning import MONOTONIC_TRENDS, WoeBinner
from credit_models.features.engine import build_features
from credit_models.features.selection import REPORT_COLUMNS, FeatureSelector
from credit_models.features.selection_config import MonotonicTrend, SelectionConfig
from credit_models.features.snapshots import (
    customer_snapshots,
    default_snapshot_range,
    month_starts,
)
from credit_models.features.spec import parse_feature_spec
from credit_models.labels.default_label import LABELLED, DefaultDefinition, label_default
from credit_models.reporting.selection_plots import drop_rule, iv_psi_plot
from credit_models.split.out_of_time import OutOfTimeSplit
from tests.features.test_binning import DOCUMENTED_DEVIATIONS

CONF = Path(__file__).resolve().parents[2] / "conf"


# ---------------------------------------------------------------------------- PSI by hand
def test_psi_of_two_known_distributions_by_hand():
    # development 50/50, comparison 25/75:
    # (0.25 − 0.5)·ln(0.5) + (0.75 − 0.5)·ln(1.5) = ¼·ln 3
    assert psi_from_counts([50, 50], [25, 75]) == pytest.approx(0.25 * math.log(3))
    assert psi_from_counts([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert psi_from_counts([200, 200], [25, 75]) == pytest.approx(0.25 * math.log(3))


def test_psi_floors_empty_bins_at_epsilon():
    # the second bin is empty in development: its share counts as 1e-4
    expected = (0.9 - 1.0) * math.log(0.9 / 1.0) + (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    assert psi_from_counts([100, 0], [90, 10]) == pytest.approx(expected, rel=1e-4)
    assert psi_from_counts([50, 50, 0], [50, 50, 0]) == 0.0   # empty in both: nothing


@pytest.mark.parametrize(
    "expected,actual,message",
    [([1, 2], [1, 2, 3], "one value per bin"), ([0, 0], [1, 1], "positive total"),
     ([1, -1], [1, 1], "non-negative")],
)
def test_psi_rejects_what_it_cannot_compare(expected, actual, message):
    with pytest.raises(ValueError, match=message):
        psi_from_counts(expected, actual)


# ------------------------------------------------------------------- the rules, one by one
def _development_and_comparison(n: int = 6000, seed: int = 11):
    """Features each built to fail one rule, and two that should pass."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    drifting = rng.normal(size=n)
    is_bad = rng.random(n) < 1 / (1 + np.exp(1.5 - 1.2 * signal - 0.8 * drifting))
    mostly_missing = np.where(np.arange(n) < 0.97 * n, np.nan, signal)   # 97 % missing
    development = pd.DataFrame(
        {
            "signal": signal,
            "near_duplicate": signal + rng.normal(scale=0.02, size=n),
            "drifting": drifting,
            "mostly_missing": rng.permutation(mostly_missing),
            "constant": np.ones(n),
            "noise": rng.normal(size=n),
            "segment": pd.Categorical(np.where(signal + rng.normal(size=n) > 0.5, "b", "a")),
        }
    )
    comparison = development.assign(drifting=rng.normal(loc=1.5, size=n))  # drifted away
    return development, is_bad, comparison


@pytest.fixture(scope="module")
def fitted() -> tuple[FeatureSelector, pd.DataFrame]:
    development, is_bad, comparison = _development_and_comparison()
    descriptions = {"signal": "the risk driver", "noise": "nothing at all"}
    selector = FeatureSelector().fit(
        development, is_bad, comparison=comparison, descriptions=descriptions
    )
    return selector, selector.selection_report_.set_index("feature")


def test_every_feature_is_in_the_report_with_its_reason(fitted):
    selector, report = fitted
    assert list(selector.selection_report_.columns) == list(REPORT_COLUMNS)
    assert set(report.index) == {"signal", "near_duplicate", "drifting", "mostly_missing",
                                 "constant", "noise", "segment"}
    assert report["iv"].is_monotonic_decreasing
    assert (report.loc[report["kept"], "reason"] == "").all()
    assert (report.loc[~report["kept"], "reason"] != "").all()
    assert report.at["signal", "description"] == "the risk driver"
    assert report.at["drifting", "description"] == ""


def test_a_feature_missing_in_97_percent_of_rows_is_dropped_for_it(fitted):
    _, report = fitted
    assert report.at["mostly_missing", "missing_rate"] == pytest.approx(0.97)
    assert not report.at["mostly_missing", "kept"]
    assert report.at["mostly_missing", "reason"] == "missing_rate 0.97 > 0.95"


def test_a_constant_feature_is_dropped_as_single_valued(fitted):
    _, report = fitted
    assert report.at["constant", "single_value_share"] == 1.0
    assert report.at["constant", "reason"] == "single_value_share 1.0 > 0.98"
    assert report.at["constant", "iv"] == 0.0


def test_a_feature_without_information_is_dropped_for_low_iv(fitted):
    _, report = fitted
    assert report.at["noise", "iv"] < 0.02
    assert report.at["noise", "reason"].startswith("iv ") and report.at["noise", "reason"].endswith(
        " < 0.02")


def test_of_two_near_duplicates_the_higher_iv_one_is_kept(fitted):
    selector, report = fitted
    pair = report.loc[["signal", "near_duplicate"]]
    winner, loser = pair["iv"].idxmax(), pair["iv"].idxmin()
    assert report.at[winner, "kept"] and not report.at[loser, "kept"]
    assert report.at[loser, "reason"].startswith(f"correlated with {winner} (ρ=0.9")
    assert "higher IV" in report.at[loser, "reason"]
    assert report.at[loser, "cluster"] == report.at[winner, "cluster"]
    assert abs(selector.correlation_.at[winner, loser]) > 0.9


def test_a_feature_drifting_between_development_and_oot_is_dropped_for_psi(fitted):
    _, report = fitted
    assert report.at["drifting", "iv"] > 0.02
    assert report.at["drifting", "psi"] > 0.25
    assert report.at["drifting", "reason"].startswith("psi ")
    assert report.at["drifting", "reason"].endswith(" > 0.25")
    assert report.loc[["signal", "noise", "segment"], "psi"].max() < 0.01


def test_the_categorical_feature_is_binned_and_kept(fitted):
    selector, report = fitted
    assert report.at["segment", "kind"] == "categorical"
    assert report.at["segment", "kept"]
    assert "segment" in selector.correlation_.columns


def test_transform_keeps_the_selected_columns_in_input_order(fitted):
    selector, report = fitted
    development, _, _ = _development_and_comparison()
    kept = [name for name in development.columns if report.at[name, "kept"]]
    assert selector.selected_features_ == kept
    assert selector.get_feature_names_out().tolist() == kept
    assert selector.transform(development).columns.tolist() == kept
    assert selector.transform(development[kept]).equals(development[kept])   # only kept needed
    assert selector.get_support().tolist() == [name in kept for name in development.columns]
    with pytest.raises(ValueError, match="selected feature"):
        selector.transform(development.drop(columns=kept[0]))


def test_without_a_comparison_sample_the_psi_rule_is_skipped():
    development, is_bad, _ = _development_and_comparison()
    report = FeatureSelector().fit(development, is_bad).selection_report_.set_index("feature")
    assert report["psi"].isna().all()
    assert report.at["drifting", "kept"]


def test_suspiciously_strong_features_are_flagged_not_dropped():
    development, is_bad, _ = _development_and_comparison()
    report = FeatureSelector(max_iv=0.1).fit(development, is_bad).selection_report_
    flagged = report.set_index("feature").loc["signal"]
    assert flagged["kept"]
    assert flagged["warning"].startswith("iv ") and "check for leakage" in flagged["warning"]


def test_no_two_kept_features_are_correlated_above_the_threshold():
    rng = np.random.default_rng(5)
    base = rng.normal(size=(3000, 1))
    chain = pd.DataFrame(base + rng.normal(scale=[0.1, 0.3, 0.5, 0.7], size=(3000, 4)),
                         columns=["a", "b", "c", "d"])
    is_bad = rng.random(3000) < 1 / (1 + np.exp(2 - base[:, 0]))
    selector = FeatureSelector(max_correlation=0.8).fit(chain, is_bad)
    kept = selector.selected_features_
    rho = selector.correlation_.loc[kept, kept].abs().to_numpy()
    assert (rho[~np.eye(len(kept), dtype=bool)] <= 0.8).all()


# ------------------------------------------------------------------------ the contract
def test_estimator_contract():
    development, is_bad, comparison = _development_and_comparison(n=400)
    selector = FeatureSelector(min_iv=0.05, binner=WoeBinner(max_n_bins=4))
    with pytest.raises(NotFittedError):
        selector.transform(development)
    copy = clone(selector)
    assert copy.get_params()["binner__max_n_bins"] == 4 and not hasattr(copy, "binner_")
    selector.fit(development, is_bad, comparison=comparison)
    assert selector.binner is not selector.binner_           # the template is never fitted
    assert not hasattr(selector.binner, "binnings_")
    assert selector.n_features_in_ == development.shape[1]


@pytest.mark.parametrize(
    "parameters,message",
    [
        ({"max_missing_rate": 2}, "max_missing_rate must be in [0, 1]; got 2."),
        ({"min_iv": -0.1}, "min_iv must be in [0, inf); got -0.1."),
        ({"max_iv": 0.01}, "max_iv must be greater than min_iv (0.02); got 0.01."),
        ({"max_correlation": "high"}, "max_correlation must be in [0, 1]; got 'high'."),
        ({"psi_epsilon": 0}, "psi_epsilon must be in (0, 0.1); got 0."),
        ({"binner": "optbinning"}, "binner must be a WoeBinner or None; got str."),
    ],
)
def test_wrong_thresholds_name_the_rule_and_the_value(parameters, message):
    development, is_bad, _ = _development_and_comparison(n=200)
    with pytest.raises(ValueError) as raised:
        FeatureSelector(**parameters).fit(development, is_bad)
    assert str(raised.value) == message


def test_a_comparison_without_the_features_is_rejected_by_name():
    development, is_bad, comparison = _development_and_comparison(n=200)
    with pytest.raises(ValueError, match="missing from X: \\[noise\\]"):
        FeatureSelector().fit(development, is_bad, comparison=comparison.drop(columns="noise"))


@parametrize_with_checks(
    [FeatureSelector(min_iv=0.0)], expected_failed_checks=lambda _: DOCUMENTED_DEVIATIONS
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------- config
def test_the_yaml_mirrors_the_structured_config_and_builds_a_selector():
    raw = OmegaConf.load(CONF / "selection" / "default.yaml")
    assert list(raw.keys()) == [field.name for field in dataclasses.fields(SelectionConfig)]
    merged = OmegaConf.merge(OmegaConf.structured(SelectionConfig), raw)
    config = OmegaConf.to_object(merged)
    assert config == SelectionConfig()
    selector = config.build()
    defaults = FeatureSelector()
    assert selector.get_params(deep=False) | {"binner": None} == defaults.get_params(deep=False)
    assert selector.binner.get_params() == WoeBinner().get_params()


def test_a_wrong_choice_in_config_lists_the_valid_ones():
    schema = OmegaConf.structured(SelectionConfig)
    with pytest.raises(OmegaConfBaseException) as raised:
        OmegaConf.merge(schema, {"monotonic_trend": "sideways"})
    assert "ascending_or_descending" in str(raised.value)
    assert [trend.value for trend in MonotonicTrend] == list(MONOTONIC_TRENDS)
    with pytest.raises(ValueError, match="min_iv must be in"):
        SelectionConfig(min_iv=-1).build()


# ------------------------------------------------------------------------------ plot
def test_iv_psi_plot_draws_every_feature(fitted):
    selector, _ = fitted
    report = selector.selection_report_
    figure = iv_psi_plot(report, min_iv=0.02, max_psi=0.25, max_iv=0.5)
    assert isinstance(figure, Figure)
    axes = figure.axes[0]
    drawn = sum(len(collection.get_offsets()) for collection in axes.collections
                if collection.get_label() and not collection.get_label().startswith("flagged"))
    assert drawn == len(report)
    figure.savefig(io.BytesIO(), format="png")
    assert [drop_rule(reason) for reason in ["", "correlated with x (ρ=0.95)", "psi 0.3 > 0.25"]] \
        == ["kept", "correlation", "psi"]
    # Every dropped feature has a group in the plot: none silently vanishes.
    assert [drop_rule(reason) for reason in [
        "unusable: constant (one value in every row)", "sensitive attribute (age)",
        "excluded by selection.exclude ('x*')"]] == ["unusable", "excluded", "excluded"]


# ------------------------------------------------------------------ simulated portfolio
@pytest.fixture(scope="module")
def portfolio_selection(small_portfolio):
    """The selector fitted on the session's small simulated portfolio (1,500 customers)."""
    tables = read_tables(small_portfolio)
    extraction_date = read_manifest(small_portfolio).extraction_timestamp
    definition = DefaultDefinition()
    first, last = default_snapshot_range(
        tables["customers"]["signed_up_at"].min(), extraction_date,
        min_history_months=6, performance_months=definition.performance_months,
    )
    snapshots = customer_snapshots(tables["customers"], month_starts(first, last))
    labels = label_default(snapshots, tables["bills"], tables["repayments"], definition,
                           extraction_date)
    labelled = labels[labels["status"] == LABELLED].reset_index(drop=True)
    spec = parse_feature_spec(OmegaConf.to_container(OmegaConf.load(CONF / "features" /
                                                                    "default.yaml")))
    matrix = build_features(spec, tables, labelled[["customer_id", "as_of"]])
    split = OutOfTimeSplit(holdout="months", group_customers=False).assign(labelled)
    features = matrix.frame[matrix.feature_names]
    development = (split == "dev").to_numpy()
    # CPU time of this process (the solver's threads included), not wall time: the bound is on
    # the selection's own work, whatever else the machine runs meanwhile.
    started = time.process_time()
    selector = FeatureSelector().fit(
        features[development], labelled.loc[development, "is_bad"].astype(bool),
        comparison=features[(split == "valid").to_numpy()], descriptions=matrix.descriptions,
    )
    elapsed = time.process_time() - started
    return selector, features[development], matrix, elapsed


def test_on_a_simulated_portfolio_a_sensible_subset_is_kept(portfolio_selection):
    selector, development, matrix, elapsed = portfolio_selection
    report = selector.selection_report_.set_index("feature")
    kept = selector.selected_features_
    assert set(report.index) == set(matrix.feature_names)             # nothing silently dropped
    assert 20 <= len(kept) < 0.9 * len(matrix.feature_names)
    assert "delinquency__days_past_due__current" in kept
    assert any(name.startswith("due_outcomes__") for name in kept)
    assert report.loc[kept, "description"].ne("").all()
    single_valued = [name for name in development if development[name].nunique(dropna=False) == 1]
    assert single_valued and not set(single_valued) & set(kept)
    for name in single_valued:
        assert report.at[name, "reason"].split(" ")[0] in ("missing_rate", "single_value_share")
    strongest = report.index[:10]
    assert any(name.startswith(("due_outcomes", "delinquency", "repayments")) for name in strongest)
    rho = selector.correlation_.loc[kept, kept].abs().to_numpy()
    assert (rho[~np.eye(len(kept), dtype=bool)] <= 0.9).all()
    assert elapsed < 60, f"selection took {elapsed:.1f}s of CPU"
