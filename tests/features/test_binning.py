from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from credit_models.features.binning import (
    UNKNOWN_CATEGORY,
    WoeBinner,
    information_value,
)

# Deviations from scikit-learn's generic checks, each a design decision:
DOCUMENTED_DEVIATIONS = {
    "check_estimators_dtypes": "the target must be coded bad = 1/True, good = 0/False; the "
    "generic check codes it 1/2, which in credit data is ambiguous (German credit: 2 = bad)",
    "check_transformer_preserve_dtypes": "transform returns a DataFrame (names and index kept), "
    "which has dtypes per column rather than one dtype",
}


def _two_bin_sample() -> tuple[pd.DataFrame, np.ndarray]:
    """x = 0: 40 goods, 10 bads; x = 1: 30 goods, 20 bads (70 goods, 30 bads in all)."""
    x = np.r_[np.zeros(50), np.ones(50)]
    is_bad = np.r_[np.zeros(40), np.ones(10), np.zeros(30), np.ones(20)].astype(bool)
    return pd.DataFrame({"x": x}), is_bad


def test_woe_and_iv_of_a_two_bin_feature_by_hand():
    frame, is_bad = _two_bin_sample()
    binner = WoeBinner().fit(frame, is_bad)

    woe_low = math.log((40 / 70) / (10 / 30))     # ln(%good / %bad) = ln(12/7)
    woe_high = math.log((30 / 70) / (20 / 30))    # ln(9/14)
    iv = (40 / 70 - 10 / 30) * woe_low + (30 / 70 - 20 / 30) * woe_high
    table = binner.binning_table("x")
    assert table.loc[0, "WoE"] == pytest.approx(woe_low)
    assert table.loc[1, "WoE"] == pytest.approx(woe_high)
    assert binner.iv_["x"] == pytest.approx(iv)
    assert table.loc["Totals", "IV"] == pytest.approx(iv)
    assert binner.n_bins_["x"] == 2
    woe = binner.transform(frame)["x"]
    assert woe.iloc[:50].tolist() == pytest.approx([woe_low] * 50)
    assert woe.iloc[50:].tolist() == pytest.approx([woe_high] * 50)
    assert binner.bin_counts("x").tolist() == [50, 50, 0, 0]     # bins, special, missing


def test_missing_values_have_a_bin_and_a_woe_of_their_own():
    frame, is_bad = _two_bin_sample()
    x = frame["x"].to_numpy().copy()
    x[:10] = np.nan                    # 10 of the x = 0 goods: missing
    binner = WoeBinner().fit(pd.DataFrame({"x": x}), is_bad)
    table = binner.binning_table("x")
    assert table.loc[3, "Bin"] == "Missing" and table.loc[3, "Count"] == 10
    assert table.loc[3, "WoE"] == 0.0      # goods only: a pure bin has WoE 0 and adds no IV
    x_bad_missing = x.copy()
    x_bad_missing[40:45] = np.nan      # 5 bads missing too: 10 goods, 5 bads
    binner = WoeBinner().fit(pd.DataFrame({"x": x_bad_missing}), is_bad)
    expected = math.log((10 / 70) / (5 / 30))
    woe = binner.transform(pd.DataFrame({"x": [np.nan]}))["x"].iloc[0]
    assert woe == pytest.approx(expected)
    assert binner.bin_indices(pd.DataFrame({"x": [np.nan, 0.0]}))["x"].tolist() == [3, 0]



def _missing_sample() -> tuple[pd.DataFrame, np.ndarray]:
    """The two-bin sample with 10 goods and 5 bads missing in both a numerical and a categorical
    feature (a missing bin with evidence of its own), and 5 special codes -999 in the number."""
    frame, is_bad = _two_bin_sample()
    x = frame["x"].to_numpy().copy()
    x[:10] = x[40:45] = np.nan
    x[10:15] = -999.0
    channel = np.where(frame["x"] == 0, "app", "web").astype(object)
    channel[:10] = channel[40:45] = None
    return pd.DataFrame({"x": x, "channel": channel}), is_bad


MISSING_SPELLINGS = {
    "x": {
        "NaN": [np.nan, np.nan, 0.0],
        "None, float column read as object": pd.Series([None, np.nan, 0.0], dtype=object),
        "pd.NA, nullable Float64": pd.array([pd.NA, pd.NA, 0.0], dtype="Float64"),
        "pd.NA, object": pd.Series([pd.NA, None, 0.0], dtype=object),
        "NaN, category": pd.Categorical([np.nan, np.nan, 0.0]),
    },
    "channel": {
        "None": [None, None, "app"],
        "NaN": [np.nan, np.nan, "app"],
        "pd.NA, object": pd.Series([pd.NA, None, "app"], dtype=object),
        "pd.NA, string": pd.array([pd.NA, pd.NA, "app"], dtype="string"),
        "NaN, other categories": pd.Categorical([None, None, "app"], categories=["kiosk", "app"]),
    },
}


@pytest.mark.parametrize(("feature", "spelling"), [
    (feature, spelling) for feature, spellings in MISSING_SPELLINGS.items()
    for spelling in spellings
])
def test_a_missing_value_gets_the_missing_bin_however_it_is_spelt(feature, spelling):
    frame, is_bad = _missing_sample()
    binner = WoeBinner(special_codes=[-999]).fit(frame, is_bad)
    table = binner.binning_table(feature)
    missing = table.index[table["Bin"] == "Missing"][0]
    assert table.loc[missing, "Count"] == 15
    expected = math.log((10 / 70) / (5 / 30))
    scored = pd.DataFrame({"x": [0.0] * 3, "channel": ["app"] * 3})
    scored[feature] = MISSING_SPELLINGS[feature][spelling]
    assert binner.bin_indices(scored)[feature].tolist()[:2] == [missing, missing]
    assert binner.transform(scored)[feature].tolist()[:2] == pytest.approx([expected] * 2)
    assert binner.transform(scored)[feature].iloc[2] != pytest.approx(expected)


def test_missing_values_and_special_codes_keep_their_own_bins():
    frame, is_bad = _missing_sample()
    binner = WoeBinner(special_codes=[-999]).fit(frame, is_bad)
    table = binner.binning_table("x")
    special, missing = (table.index[table["Bin"] == name][0] for name in ("Special", "Missing"))
    scored = pd.DataFrame({"x": [-999.0, np.nan], "channel": [None, np.nan]})
    assert binner.bin_indices(scored)["x"].tolist() == [special, missing]
    assert binner.transform(scored)["x"].tolist() == pytest.approx(
        [table.loc[special, "WoE"], table.loc[missing, "WoE"]])
    # a whole batch without the category: a column of NaN read as float, still missing
    assert binner.transform(scored)["channel"].tolist() == pytest.approx(
        [math.log((10 / 70) / (5 / 30))] * 2)


@pytest.mark.parametrize("values", [["", 1.0], ["NA", None], ["0.5", "1"]])
def test_text_in_a_numerical_feature_is_refused_by_name_not_guessed(values):
    frame, is_bad = _missing_sample()
    binner = WoeBinner().fit(frame, is_bad)
    scored = pd.DataFrame({"x": pd.Series(values, dtype=object, index=[7, 8]),
                           "channel": ["app", "web"]})
    with pytest.raises(ValueError, match=r"feature 'x' was binned as numerical .* not numbers"
                                         r".*rows \{7: '"):
        binner.transform(scored)


def test_bin_indices_of_some_features_need_only_their_columns():
    frame, is_bad = _missing_sample()
    binner = WoeBinner().fit(frame, is_bad)
    full = binner.bin_indices(frame)
    some = binner.bin_indices(frame[["channel"]].assign(other=1), features=["channel"])
    pd.testing.assert_frame_equal(some, full[["channel"]])
    with pytest.raises(ValueError, match=r"WoeBinner scores on missing from X: \[x\]"):
        binner.bin_indices(frame[["channel"]], features=["x"])
    with pytest.raises(KeyError, match="no binning for 'z'"):
        binner.bin_indices(frame, features=["z"])
    # an array is known by position only: every fitted column, in fit order
    array_some = binner.bin_indices(frame.to_numpy(), features=["channel"])
    pd.testing.assert_frame_equal(array_some, full[["channel"]])
    with pytest.raises(ValueError, match="X has 1 features"):
        binner.bin_indices(frame[["channel"]].to_numpy(), features=["channel"])


def test_categories_are_binned_by_bad_rate_and_unseen_ones_are_neutral():
    frame, is_bad = _two_bin_sample()
    categories = pd.DataFrame(
        {"channel": pd.Categorical(np.where(frame["x"] == 0, "app_store", "referral"))}
    )
    binner = WoeBinner().fit(categories, is_bad)
    assert binner.feature_kinds_ == {"channel": "categorical"}
    scored = pd.DataFrame({"channel": pd.Categorical(["app_store", "referral", "billboard"])})
    woe = binner.transform(scored)["channel"].tolist()
    assert woe == pytest.approx([math.log(12 / 7), math.log(9 / 14), 0.0])
    assert binner.bin_indices(scored)["channel"].iloc[2] == UNKNOWN_CATEGORY
    # the same codes as text, or as numbers declared categorical, bin alike
    as_text = categories.astype({"channel": "str"})
    assert WoeBinner().fit(as_text, is_bad).iv_["channel"] == pytest.approx(binner.iv_["channel"])
    coded = pd.DataFrame({"tier": frame["x"].astype("int64")})
    declared = WoeBinner(categorical_features=["tier"]).fit(coded, is_bad)
    assert declared.feature_kinds_["tier"] == "categorical"


def test_the_monotonic_direction_of_higher_iv_is_kept():
    rng = np.random.default_rng(3)
    days_late = rng.gamma(1.0, 10.0, 4000)
    risk = np.where(days_late < 15, days_late / 15, 1.6 - days_late / 40)    # rises, then falls
    is_bad = rng.random(4000) < 0.03 + 0.25 * np.clip(risk, 0, None)
    frame = pd.DataFrame({"days_late": days_late})
    chosen = WoeBinner().fit(frame, is_bad).iv_["days_late"]
    each_way = [WoeBinner(monotonic_trend=trend).fit(frame, is_bad).iv_["days_late"]
                for trend in ("ascending", "descending")]
    assert chosen == pytest.approx(max(each_way))
    table = WoeBinner().fit(frame, is_bad).binning_table("days_late")
    rates = table["Event rate"].iloc[:-3].to_numpy(dtype=float)      # ordered bins only
    assert np.all(np.diff(rates) >= 0) or np.all(np.diff(rates) <= 0)


def test_a_feature_never_observed_in_development_keeps_a_neutral_woe():
    frame, is_bad = _two_bin_sample()
    frame = frame.assign(never=np.nan)
    binner = WoeBinner().fit(frame, is_bad)
    assert binner.empty_features_ == ["never"]
    assert binner.iv_["never"] == 0.0 and binner.n_bins_["never"] == 0
    assert (binner.transform(frame.assign(never=5.0))["never"] == 0.0).all()
    table = binner.binning_table("never")
    assert table.loc[2, "Bin"] == "Missing" and table.loc[2, "Count"] == 100
    assert binner.bin_indices(frame)["never"].eq(2).all()


def test_information_value_matches_the_binning_tables():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.exponential(size=2000)})
    is_bad = rng.random(2000) < 1 / (1 + np.exp(2 - frame["a"]))
    binner = WoeBinner().fit(frame, is_bad)
    for name in frame:
        table = binner.binning_table(name)
        assert binner.iv_[name] == pytest.approx(table.loc["Totals", "IV"])
        assert binner.bin_counts(name).tolist() == table["Count"].iloc[:-1].tolist()
    by_hand = (40 / 70 - 10 / 30) * math.log(12 / 7) + (30 / 70 - 20 / 30) * math.log(9 / 14)
    assert information_value([40, 30], [10, 20]) == pytest.approx(by_hand)
    # a bin of goods only adds nothing, but its goods still count in the shares
    pure = (40 / 75 - 10 / 30) * math.log((40 / 75) / (10 / 30)) \
        + (30 / 75 - 20 / 30) * math.log((30 / 75) / (20 / 30))
    assert information_value([40, 30, 5], [10, 20, 0]) == pytest.approx(pure)


def test_estimator_contract():
    frame, is_bad = _two_bin_sample()
    binner = WoeBinner(max_n_bins=3)
    with pytest.raises(NotFittedError):
        binner.transform(frame)
    copy = clone(binner)
    assert copy.get_params() == binner.get_params() and not hasattr(copy, "binnings_")
    binner.fit(frame.assign(y=frame["x"] * 2), is_bad)
    assert binner.get_feature_names_out().tolist() == ["x", "y"]
    assert binner.feature_names_in_.tolist() == ["x", "y"]
    woe = binner.transform(frame.assign(y=0.0, extra="ignored")[["extra", "y", "x"]])
    assert woe.columns.tolist() == ["x", "y"] and woe.index.equals(frame.index)


@pytest.mark.parametrize(
    "parameters,message",
    [
        ({"min_prebin_size": 0.7}, "min_prebin_size must be in (0, 0.5]; got 0.7."),
        ({"monotonic_trend": "sideways"}, "monotonic_trend must be one of"),
        ({"solver": "ls"}, "solver must be one of cp, mip; got 'ls'."),
        ({"max_n_prebins": 1}, "max_n_prebins must be an integer >= 2; got 1."),
        ({"special_codes": "-999"}, "special_codes must be a list of numbers"),
    ],
)
def test_wrong_parameters_name_the_rule_and_the_value(parameters, message):
    frame, is_bad = _two_bin_sample()
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        WoeBinner(**parameters).fit(frame, is_bad)


@pytest.mark.parametrize(
    "target,message",
    [
        (pd.array([True, None] + [False] * 98, dtype="boolean"), "1 missing label"),
        (np.r_[np.zeros(98), 2, 1], "y must be binary"),
        (np.zeros(100), "both goods and bads"),
        (np.zeros(3), "one label per row of X"),
    ],
)
def test_wrong_targets_are_rejected_with_what_was_found(target, message):
    frame, _ = _two_bin_sample()
    with pytest.raises(ValueError, match=message):
        WoeBinner().fit(frame, target)


def test_keys_and_missing_columns_are_rejected_by_name():
    frame, is_bad = _two_bin_sample()
    with_key = frame.assign(as_of=pd.Timestamp("2024-01-01", tz="UTC"))
    with pytest.raises(ValueError, match="as_of"):
        WoeBinner().fit(with_key, is_bad)
    binner = WoeBinner().fit(frame.assign(z=1.0), is_bad)
    with pytest.raises(ValueError, match="missing from X: \\[z\\]"):
        binner.transform(frame)
    with pytest.raises(KeyError, match="no binning for 'w'"):
        binner.binning_table("w")


@parametrize_with_checks([WoeBinner()], expected_failed_checks=lambda _: DOCUMENTED_DEVIATIONS)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
