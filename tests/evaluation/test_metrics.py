"""Validation metrics against hand-computed values on tiny samples, and statistical expectations on
synthetic ones."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, log_loss

from credit_models.errors import TrainingDataError
from credit_models.evaluation.metrics import (
    MISSING,
    PSI_EPSILON,
    calibration_metrics,
    calibration_table,
    characteristic_stability,
    evaluate_split_metrics,
    expected_calibration_error,
    gains_table,
    metrics_by_group,
    population_stability_index,
    ranking_metrics,
    score_band_table,
    split_metrics_table,
    stability_by_group,
    stability_status,
    stability_table,
)


def _psi(expected_shares: list[float], actual_shares: list[float]) -> float:
    """The definition, written out: Σ (a − e) · ln(a / e), shares floored at the epsilon."""
    total = 0.0
    for e, a in zip(expected_shares, actual_shares, strict=True):
        e, a = max(e, PSI_EPSILON), max(a, PSI_EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def _actual_with_shares(shares: list[int]) -> np.ndarray:
    """Values 0..99 fall into four quartile bins of 25; take ``shares[i]`` values from bin i."""
    return np.concatenate([np.full(count, 25 * i + 10.0) for i, count in enumerate(shares)])


# --- ranking (existing behaviour) --------------------------------------------------------------


def test_ranking_metrics_of_a_perfect_score() -> None:
    result = ranking_metrics([False, False, True, True], [0.1, 0.2, 0.8, 0.9])
    assert result == {"auc": 1.0, "gini": 1.0, "ks": 1.0, "rows": 4.0, "bads": 2.0,
                      "bad_rate": 0.5}


def test_ranking_metrics_refuse_one_class() -> None:
    with pytest.raises(TrainingDataError, match="both goods and bads"):
        ranking_metrics([False, False], [0.1, 0.2])


# --- PSI and CSI -------------------------------------------------------------------------------


def test_psi_of_two_known_distributions() -> None:
    expected = np.arange(100.0)                      # quartile bins of 25 rows each
    actual = _actual_with_shares([10, 20, 30, 40])   # shares 0.1, 0.2, 0.3, 0.4
    hand = (
        (0.1 - 0.25) * math.log(0.1 / 0.25) + (0.2 - 0.25) * math.log(0.2 / 0.25)
        + (0.3 - 0.25) * math.log(0.3 / 0.25) + (0.4 - 0.25) * math.log(0.4 / 0.25)
    )
    assert population_stability_index(expected, actual, bins=4) == pytest.approx(hand, rel=1e-12)
    table = stability_table(expected, actual, bins=4)
    assert table["expected_rows"].tolist() == [25, 25, 25, 25]
    assert table["actual_rows"].tolist() == [10, 20, 30, 40]
    assert table["expected_share"].sum() == pytest.approx(1.0)
    assert table["actual_share"].sum() == pytest.approx(1.0)


def test_psi_of_a_sample_with_itself_is_zero() -> None:
    values = np.random.default_rng(0).lognormal(size=1000)
    assert population_stability_index(values, values) == pytest.approx(0.0, abs=1e-15)


def test_psi_empty_bin_uses_the_epsilon_floor() -> None:
    actual = _actual_with_shares([100, 0, 0, 0])
    psi = population_stability_index(np.arange(100.0), actual, bins=4)
    assert psi == pytest.approx(_psi([0.25] * 4, [1.0, 0.0, 0.0, 0.0]))
    assert np.isfinite(psi)
    larger_floor = population_stability_index(np.arange(100.0), actual, bins=4, epsilon=1e-2)
    assert larger_floor < psi


def test_psi_values_beyond_the_expected_range_land_in_the_outer_bins() -> None:
    table = stability_table(np.arange(100.0), np.array([-1e6, 1e6]), bins=4)
    assert table["actual_rows"].tolist() == [1, 0, 0, 1]


def test_psi_ties_share_a_bin() -> None:
    """60 % zeros: the first five decile cuts coincide, so the zeros make one bin."""
    expected = np.concatenate([np.zeros(60), np.arange(1.0, 41.0)])
    table = stability_table(expected, expected, bins=10)
    assert table["expected_rows"].iloc[0] == 60
    assert len(table) < 10
    assert table["expected_rows"].sum() == 100
    shifted = np.concatenate([np.zeros(30), np.arange(1.0, 71.0)])
    shifted_table = stability_table(expected, shifted, bins=10)
    assert shifted_table["actual_rows"].iloc[0] == 30
    assert population_stability_index(expected, shifted) > 0.1


def test_psi_missing_values_form_their_own_bin() -> None:
    expected = np.concatenate([np.arange(90.0), np.full(10, np.nan)])
    actual = np.concatenate([np.arange(70.0), np.full(30, np.nan)])
    table = stability_table(expected, actual, bins=2)
    assert table["bin"].iloc[-1] == MISSING
    assert table["expected_share"].iloc[-1] == pytest.approx(0.1)
    assert table["actual_share"].iloc[-1] == pytest.approx(0.3)
    # the non-missing values: expected 45 / 45 around the median 44.5, actual 45 / 25
    assert table["actual_rows"].tolist() == [45, 25, 30]
    assert table["psi"].sum() == pytest.approx(_psi([0.45, 0.45, 0.1], [0.45, 0.25, 0.3]))


def test_psi_of_categories_includes_a_category_new_in_actual() -> None:
    expected = pd.Series(["app"] * 60 + ["web"] * 40, dtype="category")
    actual = pd.Series(["app"] * 50 + ["web"] * 30 + ["partner"] * 20, dtype="str")
    table = stability_table(expected, actual)
    assert set(table["bin"]) == {"app", "web", "partner"}
    shares = dict(zip(table["bin"], zip(table["expected_share"], table["actual_share"],
                                         strict=True), strict=True))
    hand = _psi(*zip(*(shares[name] for name in ("app", "web", "partner")), strict=True))
    assert population_stability_index(expected, actual) == pytest.approx(hand)
    assert shares["partner"] == (0.0, 0.2)


def test_psi_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="bins must be an integer >= 1; got 0"):
        population_stability_index([1.0, 2.0], [1.0], bins=0)
    with pytest.raises(ValueError, match="two non-empty samples"):
        population_stability_index([1.0, 2.0], [])
    with pytest.raises(ValueError, match=r"epsilon must be in \(0, 0.1\)"):
        population_stability_index([1.0], [1.0], epsilon=0.0)


@pytest.mark.parametrize(("psi", "status"), [
    (0.0, "stable"), (0.099, "stable"), (0.1, "watch"), (0.25, "watch"), (0.26, "act"),
    (float("nan"), "n/a"),
])
def test_stability_status_thresholds(psi: float, status: str) -> None:
    assert stability_status(psi) == status


def test_characteristic_stability_per_feature() -> None:
    rng = np.random.default_rng(3)
    dev = pd.DataFrame({
        "stable": rng.normal(size=2000), "drifting": rng.normal(size=2000),
        "channel": pd.Categorical(rng.choice(["app", "web"], 2000, p=[0.7, 0.3])),
    })
    oot = pd.DataFrame({
        "stable": rng.normal(size=2000), "drifting": rng.normal(1.0, 1.0, size=2000),
        "channel": pd.Categorical(rng.choice(["app", "web"], 2000, p=[0.3, 0.7])),
    })
    table = characteristic_stability(dev, oot, ["stable", "drifting", "channel"]).set_index(
        "feature"
    )
    assert table.loc["stable", "status"] == "stable"
    assert table.loc["drifting", "status"] == "act"
    assert table.loc[["stable", "drifting"], "kind"].eq("numeric").all()
    assert table.loc["channel", "kind"] == "categorical"
    assert table.loc["channel", "bins"] == 2
    assert table.loc["channel", "csi"] == pytest.approx(_psi([0.7, 0.3], [0.3, 0.7]), abs=0.05)
    with pytest.raises(ValueError, match=r"missing from the frames: \['absent'\]"):
        characteristic_stability(dev, oot, ["stable", "absent"])


def test_stability_by_group_compares_each_group_with_the_whole_reference() -> None:
    expected = np.arange(100.0)
    actual = np.concatenate([np.arange(100.0), _actual_with_shares([10, 20, 30, 40])])
    groups = ["a"] * 100 + ["b"] * 100
    result = stability_by_group(expected, actual, groups, bins=4)
    assert result.index.tolist() == ["a", "b"]
    assert result["a"] == pytest.approx(0.0)
    assert result["b"] == pytest.approx(_psi([0.25] * 4, [0.1, 0.2, 0.3, 0.4]))


# --- calibration -------------------------------------------------------------------------------


def _perfectly_calibrated() -> tuple[np.ndarray, np.ndarray]:
    """Ten PD levels 0.05 … 0.95, 100 rows each, exactly 100·PD of them bad."""
    probability, is_bad = [], []
    for level in range(10):
        pd_value = 0.05 + 0.1 * level
        bads = round(100 * pd_value)
        probability += [pd_value] * 100
        is_bad += [True] * bads + [False] * (100 - bads)
    return np.array(is_bad), np.array(probability)


def test_ece_of_a_perfectly_calibrated_sample_is_zero() -> None:
    is_bad, probability = _perfectly_calibrated()
    assert expected_calibration_error(is_bad, probability) == pytest.approx(0.0, abs=1e-12)
    table = calibration_table(is_bad, probability)
    assert len(table) == 10
    assert table["rows"].tolist() == [100] * 10
    assert np.allclose(table["mean_probability"], table["bad_rate"])


def test_ece_of_a_miscalibrated_sample() -> None:
    """Everyone predicted 30 %, 10 % observed: one bin (ties share it), ECE = 0.2."""
    is_bad = np.array([True] * 10 + [False] * 90)
    probability = np.full(100, 0.3)
    assert len(calibration_table(is_bad, probability)) == 1
    assert expected_calibration_error(is_bad, probability) == pytest.approx(0.2)


def test_ece_on_a_large_synthetic_sample() -> None:
    rng = np.random.default_rng(11)
    probability = rng.uniform(0.01, 0.3, 50_000)
    is_bad = rng.random(50_000) < probability
    assert expected_calibration_error(is_bad, probability) < 0.01
    halved = expected_calibration_error(is_bad, probability / 2)
    assert halved == pytest.approx(probability.mean() / 2, abs=0.01)


def test_calibration_metrics_match_scikit_learn() -> None:
    is_bad, probability = _perfectly_calibrated()
    result = calibration_metrics(is_bad.astype(int), probability)
    assert set(result) == {"log_loss", "brier", "ece", "mean_probability", "bad_rate"}
    assert result["brier"] == pytest.approx(brier_score_loss(is_bad, probability))
    assert result["log_loss"] == pytest.approx(log_loss(is_bad, probability))
    assert result["mean_probability"] == pytest.approx(0.5)
    assert result["bad_rate"] == pytest.approx(0.5)


def test_calibration_metrics_of_one_class_do_not_fail() -> None:
    result = calibration_metrics([False] * 4, [0.1, 0.1, 0.2, 0.2])
    assert result["brier"] == pytest.approx(0.025)
    assert result["ece"] == pytest.approx(0.15)


@pytest.mark.parametrize(("is_bad", "probability", "message"), [
    ([True, False], [0.5, 1.5], r"in \[0, 1\] and not missing; got 1"),
    ([True, False], [0.5, np.nan], r"in \[0, 1\] and not missing; got 1"),
    ([True, False], [0.5], "one value per row"),
    ([1, 2], [0.5, 0.5], "boolean or 0/1"),
    (["bad", "good"], [0.5, 0.5], "boolean or 0/1; got dtype"),
    (pd.Series([True, None], dtype="boolean"), [0.5, 0.5], "must not contain missing"),
])
def test_calibration_rejects_bad_inputs(is_bad: object, probability: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calibration_metrics(is_bad, probability)


# --- gains and score bands ---------------------------------------------------------------------


def test_gains_table_sums_and_order() -> None:
    rng = np.random.default_rng(5)
    score = rng.permutation(100) / 100.0
    is_bad = rng.random(100) < score          # riskier rows are bad more often
    table = gains_table(is_bad, score)
    assert table["group"].tolist() == list(range(1, 11))
    assert table["rows"].tolist() == [10] * 10
    assert table["bads"].sum() == is_bad.sum()
    assert table["min_score"].iloc[0] == pytest.approx(0.9)     # decile 1 is the riskiest
    assert table["cumulative_bads_share"].iloc[-1] == pytest.approx(1.0)
    assert table["cumulative_rows_share"].iloc[-1] == pytest.approx(1.0)
    assert table["bads_share"].sum() == pytest.approx(1.0)
    assert (table["lift"] * table["rows"]).sum() / 100 == pytest.approx(1.0)
    assert table["cumulative_lift"].iloc[-1] == pytest.approx(1.0)
    assert table["cumulative_bad_rate"].iloc[0] == table["bad_rate"].iloc[0]


def test_gains_table_hand_computed() -> None:
    """Four rows, two groups: the two highest scores hold one bad of two (overall rate 0.25)."""
    table = gains_table([True, False, False, False], [0.9, 0.8, 0.2, 0.1], groups=2)
    assert table["bads"].tolist() == [1, 0]
    assert table["bad_rate"].tolist() == [0.5, 0.0]
    assert table["lift"].tolist() == [2.0, 0.0]
    assert table["cumulative_bads_share"].tolist() == [1.0, 1.0]


def test_gains_table_points_and_ties() -> None:
    points = [500, 520, 540, 560]                 # lower points are riskier
    table = gains_table([True, False, False, False], points, groups=2, higher_is_riskier=False)
    assert table["min_score"].tolist() == [500, 540]
    assert table["bads"].tolist() == [1, 0]
    tied = gains_table([True, False, True, False], [0.5, 0.5, 0.5, 0.1], groups=2)
    assert tied["rows"].tolist() == [3, 1]        # the tied scores stay together


def test_score_band_table_counts() -> None:
    score = [0.005, 0.015, 0.015, 0.04, 0.2, 1.0]
    is_bad = [False, False, True, False, True, True]
    table = score_band_table(is_bad, score, [0.0, 0.01, 0.02, 0.05, 0.1, 1.0], probability=score)
    assert table["band"].tolist() == [
        "[0, 0.01)", "[0.01, 0.02)", "[0.02, 0.05)", "[0.05, 0.1)", "[0.1, 1]",
    ]
    assert table["rows"].tolist() == [1, 2, 1, 0, 2]
    assert table["bads"].tolist() == [0, 1, 0, 0, 2]
    assert table["goods"].tolist() == [1, 1, 1, 0, 0]
    assert table["bad_rate"].iloc[1] == 0.5
    assert np.isnan(table["bad_rate"].iloc[3])                # an empty band is kept
    assert table["cumulative_rows_share"].tolist() == pytest.approx([1 / 6, 0.5, 4 / 6, 4 / 6, 1])
    assert table["cumulative_bads_share"].tolist() == pytest.approx([0, 1 / 3, 1 / 3, 1 / 3, 1])
    assert table["odds"].iloc[1] == 1.0
    assert np.isinf(table["odds"].iloc[0])
    assert table["mean_probability"].iloc[4] == pytest.approx(0.6)


def test_score_band_table_on_points() -> None:
    table = score_band_table([True, False, False], [480, 560, 700],
                             [-np.inf, 500, 600, np.inf])
    assert table["band"].tolist() == ["[−∞, 500)", "[500, 600)", "[600, ∞]"]
    assert table["rows"].tolist() == [1, 1, 1]
    assert "mean_probability" not in table


def test_score_band_table_rejects_bad_edges_and_outside_scores() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        score_band_table([True], [0.5], [0.0, 0.5, 0.5, 1.0])
    with pytest.raises(ValueError, match=r"1 score\(s\) lie outside the band edges \[0, 0.5\]"):
        score_band_table([True, False], [0.2, 0.7], [0.0, 0.5])


# --- per group and per split -------------------------------------------------------------------


def test_metrics_by_group_one_class_group_gets_nan_not_an_error() -> None:
    is_bad = [True, False, True, False, False, False]
    probability = [0.9, 0.1, 0.8, 0.3, 0.2, 0.4]
    groups = pd.Series(["thin", "thin", "thin", "thin", "thick", "thick"], index=[5, 4, 3, 2, 1, 0])
    table = metrics_by_group(is_bad, probability, groups).set_index("group")
    assert table.loc["thin", "auc"] == 1.0
    assert table.loc["thin", "rows"] == 4
    assert table.loc["thin", "bads"] == 2
    assert np.isnan(table.loc["thick", "auc"])
    assert np.isnan(table.loc["thick", "ks"])
    assert table.loc["thick", "bad_rate"] == 0.0
    assert table.loc["thick", "ece"] == pytest.approx(0.3)
    assert {"rows", "bads", "bad_rate", "auc", "ks", "ece"} <= set(table.columns)


def test_metrics_by_group_keeps_missing_group_values() -> None:
    table = metrics_by_group([True, False, False], [0.5, 0.1, 0.2], ["a", None, "a"])
    assert len(table) == 2
    assert table["rows"].sum() == 3


def test_metrics_by_group_rejects_misaligned_groups() -> None:
    with pytest.raises(ValueError, match=r"one value per row \(2\); got 3"):
        metrics_by_group([True, False], [0.5, 0.1], ["a", "b", "c"])


def test_evaluate_split_metrics_names_suit_the_tracker() -> None:
    rng = np.random.default_rng(2)
    probability = rng.uniform(0.01, 0.5, 3000)
    is_bad = rng.random(3000) < probability
    split = pd.Series(np.repeat(["dev", "valid", "oot"], 1000), dtype="str")
    metrics = evaluate_split_metrics(is_bad, probability, split)
    for name in ("auc", "gini", "ks", "log_loss", "brier", "ece", "psi_score", "bad_rate"):
        for part in ("dev", "valid", "oot"):
            assert f"{part}/{name}" in metrics
    assert metrics["dev/psi_score"] == 0.0
    assert metrics["oot/psi_score"] < 0.1
    assert all(isinstance(value, float) for value in metrics.values())
    table = split_metrics_table(is_bad, probability, split)
    assert table.index.tolist() == ["dev", "valid", "oot"]
    oot = split == "oot"
    assert metrics["oot/auc"] == pytest.approx(
        ranking_metrics(is_bad[oot], probability[oot])["auc"]
    )
