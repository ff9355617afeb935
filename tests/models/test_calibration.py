"""Probability calibration on a systematically miscalibrated synthetic model (true PD =
sigmoid(2 · logit(raw PD))): both methods bring the expected calibration error down and keep the
ranking; the serving dict round-trips exactly; bad inputs give errors that say what is wrong."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pytest
from scipy.special import expit, logit
from sklearn.exceptions import NotFittedError
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from credit_models.errors import ConfigError, TrainingDataError
from credit_models.evaluation.metrics import calibration_metrics, expected_calibration_error
from credit_models.models import calibration
from credit_models.models.calibration import (
    METHODS,
    PD_FLOOR,
    PROBABILITY_CEILING,
    PROBABILITY_FLOOR,
    ProbabilityCalibrator,
)


def miscalibrated_sample(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(raw PD, is_bad): the raw PD's log-odds are half the true ones, so it is too high for the
    safe customers and too low for the risky ones."""
    rng = np.random.default_rng(seed)
    raw_log_odds = rng.normal(-1.6, 0.9, rows)
    raw = expit(raw_log_odds)
    is_bad = rng.random(rows) < expit(2.0 * raw_log_odds)
    return raw, is_bad


@pytest.fixture(scope="module")
def calibration_period() -> tuple[np.ndarray, np.ndarray]:
    return miscalibrated_sample(20_000, seed=1)


@pytest.fixture(scope="module")
def test_period() -> tuple[np.ndarray, np.ndarray]:
    return miscalibrated_sample(20_000, seed=2)


@pytest.fixture(scope="module", params=METHODS)
def fitted(request: pytest.FixtureRequest, calibration_period: tuple) -> ProbabilityCalibrator:
    raw, is_bad = calibration_period
    return ProbabilityCalibrator(method=request.param, min_probability=PROBABILITY_FLOOR).fit(raw, is_bad)


def test_the_sample_is_miscalibrated(test_period: tuple) -> None:
    raw, is_bad = test_period
    metrics = calibration_metrics(is_bad, raw)
    assert metrics["ece"] > 0.04
    assert metrics["mean_probability"] > metrics["bad_rate"] + 0.03


def test_calibration_reduces_the_expected_calibration_error(
    fitted: ProbabilityCalibrator, test_period: tuple
) -> None:
    raw, is_bad = test_period
    before = expected_calibration_error(is_bad, raw)
    after = calibration_metrics(is_bad, fitted.transform(raw))
    assert after["ece"] < 0.25 * before, (fitted.method, before, after["ece"])
    assert after["ece"] < 0.015
    assert after["mean_probability"] == pytest.approx(after["bad_rate"], abs=0.01)
    assert after["log_loss"] < calibration_metrics(is_bad, raw)["log_loss"]


def test_platt_recovers_the_true_map(calibration_period: tuple) -> None:
    raw, is_bad = calibration_period
    platt = ProbabilityCalibrator(method="platt", min_probability=PROBABILITY_FLOOR).fit(raw, is_bad)
    assert platt.slope_ == pytest.approx(2.0, abs=0.15)
    assert platt.intercept_ == pytest.approx(0.0, abs=0.3)
    regression = LogisticRegression(C=calibration.PLATT_C, max_iter=1000)
    regression.fit(logit(raw).reshape(-1, 1), is_bad)
    np.testing.assert_allclose(platt.transform(raw), regression.predict_proba(
        logit(raw).reshape(-1, 1))[:, 1], rtol=1e-9)


def test_platt_keeps_the_ranking(calibration_period: tuple, test_period: tuple) -> None:
    raw, is_bad = test_period
    platt = ProbabilityCalibrator(method="platt", min_probability=PROBABILITY_FLOOR).fit(*calibration_period)
    calibrated = platt.transform(raw)
    assert roc_auc_score(is_bad, calibrated) == pytest.approx(roc_auc_score(is_bad, raw),
                                                              abs=1e-12)
    order = np.argsort(raw)
    assert (np.diff(calibrated[order]) > 0).all()         # strictly increasing: no new ties


def test_isotonic_is_monotone_and_loses_no_more_than_ties(
    calibration_period: tuple, test_period: tuple
) -> None:
    raw, is_bad = test_period
    isotonic = ProbabilityCalibrator(method="isotonic", min_probability=PROBABILITY_FLOOR).fit(*calibration_period)
    assert (np.diff(isotonic.thresholds_x_) > 0).all()
    assert (np.diff(isotonic.thresholds_y_) >= 0).all()
    grid = np.linspace(0.0, 1.0, 2001)
    assert (np.diff(isotonic.transform(grid)) >= 0).all()
    calibrated = isotonic.transform(raw)
    # a non-decreasing map only ties pairs, never reverses them: AUC of raw PD with the
    # calibrated ties broken by the raw PD is exactly the raw AUC
    tie_broken = np.lexsort((raw, calibrated)).argsort()
    assert roc_auc_score(is_bad, tie_broken) == pytest.approx(roc_auc_score(is_bad, raw))
    assert roc_auc_score(is_bad, calibrated) >= roc_auc_score(is_bad, raw) - 0.005


def test_isotonic_keeps_the_ranking_and_each_blocks_bad_rate(
    calibration_period: tuple, test_period: tuple
) -> None:
    raw, is_bad = calibration_period
    isotonic = ProbabilityCalibrator(method="isotonic").fit(raw, is_bad)
    staircase = IsotonicRegression(
        y_min=isotonic.floor_, y_max=PROBABILITY_CEILING, increasing=True, out_of_bounds="clip",
    ).fit(raw, is_bad.astype(float))
    # no ties the raw score does not have (between the PD floor and ceiling): the ranking, and
    # so the AUC, kept
    test_raw, test_bad = test_period
    calibrated = isotonic.transform(test_raw)
    order = np.argsort(test_raw)
    distinct = np.diff(test_raw[order]) > 0
    inside = (calibrated[order][1:] > isotonic.floor_) & (calibrated[order][:-1] < PROBABILITY_CEILING)
    assert (np.diff(calibrated[order])[distinct & inside] > 0).all()
    assert roc_auc_score(test_bad, calibrated) == pytest.approx(roc_auc_score(test_bad, test_raw),
                                                                abs=1e-3)
    assert len(np.unique(staircase.predict(test_raw))) < len(np.unique(calibrated)) / 10
    # each staircase block's mean calibrated PD stays near its bad rate
    fitted = staircase.predict(raw)
    for value in np.unique(fitted):
        block = fitted == value
        if block.sum() >= 200:
            assert isotonic.transform(raw[block]).mean() == pytest.approx(value, abs=0.02)
    # a single column, as scikit-learn passes features, is the same input
    np.testing.assert_array_equal(isotonic.transform(test_raw.reshape(-1, 1)), calibrated)


def test_output_is_clipped(fitted: ProbabilityCalibrator) -> None:
    calibrated = fitted.transform(np.array([0.0, 1e-12, 0.5, 1.0 - 1e-12, 1.0]))
    assert calibrated.min() >= PROBABILITY_FLOOR
    assert calibrated.max() <= PROBABILITY_CEILING
    assert np.isfinite(calibrated).all()


def test_round_trip_through_json_is_exact(fitted: ProbabilityCalibrator, test_period: tuple) -> None:
    state = fitted.to_dict()
    assert state["method"] == fitted.method_ != "auto"
    assert set(state) == (
        {"method", "x", "y", "n_rows", "n_bads", "min_probability"} if fitted.method_ == "isotonic"
        else {"method", "slope", "intercept", "n_rows", "n_bads", "min_probability"}
    )
    text = json.dumps(state)
    rebuilt = ProbabilityCalibrator.from_dict(json.loads(text))
    raw = np.r_[test_period[0], 0.0, 1.0]
    np.testing.assert_array_equal(rebuilt.transform(raw), fitted.transform(raw))
    assert rebuilt.to_dict() == state
    assert rebuilt.get_params() == {"method": fitted.method_, "min_probability": PROBABILITY_FLOOR}


def test_from_dict_without_sample_size() -> None:
    rebuilt = ProbabilityCalibrator.from_dict({"method": "platt", "slope": 1.0, "intercept": 0.0})
    np.testing.assert_allclose(rebuilt.transform([0.2, 0.7]), [0.2, 0.7])
    assert rebuilt.n_rows_ is None
    isotonic = ProbabilityCalibrator.from_dict({"method": "isotonic", "x": [0.1, 0.3],
                                                "y": [0.05, 0.25]})
    np.testing.assert_allclose(isotonic.transform([0.0, 0.2, 0.9]), [0.05, 0.15, 0.25])


@pytest.mark.parametrize(("state", "error", "message"), [
    ({"method": "beta"}, ConfigError, "method must be one of isotonic, platt; got 'beta'"),
    ({}, ValueError, "needs a 'method' key"),
    ({"method": "isotonic", "x": [0.1]}, ValueError, "needs a 'y' list"),
    ({"method": "isotonic", "x": [0.1, 0.2], "y": [0.3]}, ValueError, "equal length"),
    ({"method": "isotonic", "x": [0.2, 0.1], "y": [0.1, 0.3]}, ValueError, "non-decreasing"),
    ({"method": "platt", "slope": float("nan"), "intercept": 0.0}, ValueError,
     "'slope' must be a finite number"),
])
def test_from_dict_rejects_bad_state(state: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        ProbabilityCalibrator.from_dict(state)


def test_scikit_learn_conventions() -> None:
    calibrator = ProbabilityCalibrator(method="platt")
    assert calibrator.get_params() == {"method": "platt", "min_probability": PD_FLOOR}
    assert not hasattr(calibrator, "method_")
    with pytest.raises(NotFittedError):
        calibrator.transform([0.5])
    with pytest.raises(NotFittedError):
        calibrator.to_dict()
    fitted = ProbabilityCalibrator()
    assert fitted.fit([0.1, 0.9], [0, 1]) is fitted


@pytest.mark.parametrize(("probability", "is_bad", "error", "message"), [
    ([], [], TrainingDataError, "calibration sample is empty"),
    ([0.1, 0.2, 0.3], [0, 0, 0], TrainingDataError,
     "one class only: 3 rows, 0 bads and 3 goods"),
    ([0.1, 0.2], [True, True], TrainingDataError, "one class only: 2 rows, 2 bads and 0 goods"),
    ([0.1, np.nan, 0.3, np.nan], [0, 1, 0, 1], TrainingDataError,
     r"missing values \(NaN\); got 2 of 4"),
    ([0.1, 1.5], [0, 1], TrainingDataError, r"must lie in \[0, 1\]"),
    ([0.1, 0.2], [0, 1, 1], ValueError, r"one value per probability \(2\); got 3"),
    ([0.1, 0.2], [0, 2], ValueError, "boolean or 0/1"),
    ([[0.1, 0.2]], [0, 1], ValueError, "must be 1-D"),
    ([[0.1, 0.2], [0.3, 0.4]], [0, 1], ValueError, r"or a single column; got shape \(2, 2\)"),
])
def test_fit_errors(probability: list, is_bad: list, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        ProbabilityCalibrator().fit(probability, is_bad)


def test_unknown_method_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match="method must be one of isotonic, platt, auto; got 'beta'"):
        ProbabilityCalibrator(method="beta").fit([0.1, 0.9], [0, 1])


def test_platt_refuses_a_backwards_model() -> None:
    rng = np.random.default_rng(3)
    raw = rng.uniform(0.01, 0.5, 2000)
    is_bad = rng.random(2000) < 0.5 - raw          # riskier by the model, safer in fact
    with pytest.raises(TrainingDataError, match="slope of -"):
        ProbabilityCalibrator(method="platt").fit(raw, is_bad)


def test_transform_rejects_missing_probabilities(fitted: ProbabilityCalibrator) -> None:
    with pytest.raises(ValueError, match="missing values"):
        fitted.transform([0.2, np.nan])


def test_docstring_examples() -> None:
    result = doctest.testmod(calibration, extraglobs={"np": np})
    assert result.failed == 0 and result.attempted > 0


def test_default_floor_keeps_the_safest_customers_above_three_basis_points():
    raw = np.linspace(0.001, 0.5, 400)
    is_bad = np.r_[np.zeros(200), (np.arange(200) % 3 == 0)]
    calibrated = ProbabilityCalibrator().fit(raw, is_bad).transform(raw)
    assert calibrated.min() == pytest.approx(PD_FLOOR)
    with pytest.raises(ConfigError, match="min_probability"):
        ProbabilityCalibrator(min_probability=0.7).fit(raw, is_bad)


def test_auto_chooses_by_held_out_log_loss(calibration_period: tuple, test_period: tuple) -> None:
    """Auto is the method of lower held-out log loss, fitted on the whole sample; on a sample
    that a Platt map describes exactly, the two-parameter map wins."""
    raw, is_bad = calibration_period
    auto = ProbabilityCalibrator(method="auto").fit(raw, is_bad)
    assert set(auto.cv_log_loss_) == {"isotonic", "platt"}
    assert auto.method_ == min(auto.cv_log_loss_, key=auto.cv_log_loss_.get)
    chosen = ProbabilityCalibrator(method=auto.method_).fit(raw, is_bad)
    np.testing.assert_array_equal(auto.transform(test_period[0]), chosen.transform(test_period[0]))

    rng = np.random.default_rng(3)
    logistic_raw = rng.uniform(0.01, 0.6, 3_000)
    logistic_bad = rng.random(3_000) < 1 / (1 + np.exp(-(1.3 * np.log(logistic_raw / (1 - logistic_raw)) - 0.4)))
    platt_like = ProbabilityCalibrator(method="auto").fit(logistic_raw, logistic_bad)
    assert platt_like.method_ == "platt"


def test_a_collapsed_calibration_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    """Raw probabilities on a coarse grid below the PD floor's reach collapse onto few PDs."""
    rng = np.random.default_rng(4)
    raw = np.round(rng.uniform(0, 1, 5_000) ** 4, 2)      # 40 % of rows at raw 0.00-0.01
    is_bad = rng.random(5_000) < raw
    with caplog.at_level("WARNING", logger="credit_models.models.calibration"):
        calibrator = ProbabilityCalibrator(method="isotonic").fit(raw, is_bad)
    assert calibrator.largest_tie_share_ > 0.05
    assert "calibrated PDs collapse" in caplog.text

    spread = ProbabilityCalibrator(method="isotonic").fit(rng.uniform(0, 1, 5_000), is_bad)
    assert spread.largest_tie_share_ < 0.01
