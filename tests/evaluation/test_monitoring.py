"""Monitoring checks on hand-made samples: thresholds, missing rates, months, the verdict table
and the report drawn from them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_models.evaluation.monitoring import (
    ALERT,
    ALL_MONTHS,
    CHECK_COLUMNS,
    OK,
    MonitoringThresholds,
    missing_rates,
    monitor_batch,
    monitoring_checks,
    performance_by_month,
)
from credit_models.reporting.monitoring_report import build_monitoring_report, monitoring_figures


def sample(rows: int, seed: int, *, shift: float = 0.0, missing: float = 0.1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.normal(50.0 + 10.0 * shift, 10.0, rows)
    amount[rng.random(rows) < missing] = np.nan
    return pd.DataFrame({
        "amount": amount,
        "count": rng.poisson(3, rows).astype(float),
        "channel": rng.choice(np.array(["app", "web"], dtype=object), rows),
    })


FEATURES = ["amount", "count", "channel"]


@pytest.mark.parametrize("overrides,message", [
    ({"max_score_psi": 0}, "max_score_psi must be a number > 0; got 0"),
    ({"max_missing_rate_increase": 1.5}, "max_missing_rate_increase must be a number in (0, 1]"),
    ({"min_auc": 2.0}, "min_auc must be null or a number in [0, 1]; got 2.0"),
    ({"max_auc_drop": "0.05"}, "max_auc_drop must be null or a number"),
    ({"bins": 1}, "bins must be an integer >= 2; got 1"),
])
def test_thresholds_state_the_rule_and_the_value(overrides, message):
    with pytest.raises(ValueError) as raised:
        MonitoringThresholds(**overrides)
    assert message in str(raised.value)


def test_from_config_ignores_the_settings_that_are_not_thresholds():
    thresholds = MonitoringThresholds.from_config(
        {"max_feature_csi": 0.1, "min_auc": None, "reference_split": "dev", "top_features": 5})
    assert thresholds.max_feature_csi == 0.1 and thresholds.min_auc is None


def test_missing_rates_by_hand():
    reference = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "b": ["x", None, None, "y"]})
    current = pd.DataFrame({"a": [np.nan, np.nan, 3.0, 4.0], "b": ["x", "y", "y", None]})
    table = missing_rates(reference, current, ["a", "b"])
    assert table["reference_missing_rate"].tolist() == [0.25, 0.5]
    assert table["current_missing_rate"].tolist() == [0.5, 0.25]
    assert table["missing_rate_increase"].tolist() == [0.25, -0.25]
    with pytest.raises(ValueError, match="'c'"):
        missing_rates(reference, current, ["a", "c"])


def test_checks_alert_above_thresholds_and_below_the_auc_floor():
    drift = pd.DataFrame({"feature": ["a", "b"], "csi": [0.30, 0.25],
                          "missing_rate_increase": [0.0, 0.11]})
    performance = pd.DataFrame({"month": ["2024-01", "2024-02", "2024-03", ALL_MONTHS],
                                "auc": [0.74, 0.69, np.nan, 0.72]})
    thresholds = MonitoringThresholds(min_auc=0.70, max_auc_drop=0.05)
    checks = monitoring_checks(0.1, drift, thresholds, performance, reference_auc=0.75)
    assert list(checks.columns) == list(CHECK_COLUMNS)
    status = {(check, subject): status for check, subject, status
              in zip(checks["check"], checks["subject"], checks["status"], strict=True)}
    assert status == {
        ("score_psi", "score"): OK,
        ("feature_csi", "a"): ALERT, ("feature_csi", "b"): OK,          # equal is not above
        ("missing_rate_increase", "a"): OK, ("missing_rate_increase", "b"): ALERT,
        ("auc_drop", "2024-01"): OK, ("auc_drop", "2024-02"): ALERT,
        ("auc_minimum", "2024-01"): OK, ("auc_minimum", "2024-02"): ALERT,
    }
    drops = checks[checks["check"] == "auc_drop"]["value"].tolist()
    assert drops == pytest.approx([0.01, 0.06])
    no_reference = monitoring_checks(0.1, drift, thresholds, performance, reference_auc=None)
    assert "auc_drop" not in set(no_reference["check"])


def test_performance_by_month_leaves_out_unmatured_labels_and_adds_all_months():
    as_of = pd.to_datetime(["2024-01-01"] * 4 + ["2024-02-01"] * 4 + ["2024-03-01"] * 2, utc=True)
    is_bad = pd.Series([1, 0, 0, 1, 0, 0, 0, 0, None, None], dtype="Float64")
    probability = np.array([0.9, 0.1, 0.2, 0.8, 0.3, 0.2, 0.1, 0.4, 0.5, 0.5])
    table = performance_by_month(is_bad, probability, as_of)
    assert table["month"].tolist() == ["2024-01", "2024-02", ALL_MONTHS]
    assert table["rows"].tolist() == [4, 4, 8]
    assert table["auc"].iloc[0] == 1.0
    assert np.isnan(table["auc"].iloc[1])                        # one class: no AUC
    assert table["bads"].iloc[2] == 2


def test_an_unshifted_sample_passes_and_a_shifted_one_alerts_with_notes():
    reference, current = sample(4000, 1), sample(3000, 2)
    reference_score = reference["count"].fillna(0) * 10 + np.arange(len(reference)) % 7
    current_score = current["count"].fillna(0) * 10 + np.arange(len(current)) % 7
    steady = monitor_batch(reference, reference_score, current, current_score, FEATURES)
    assert (steady.checks["status"] == OK).all()
    assert steady.performance is None and steady.notes == []

    shifted = sample(3000, 3, shift=1.0, missing=0.25)
    unlabelled = pd.Series([np.nan] * len(shifted))
    result = monitor_batch(reference, reference_score, shifted, current_score, FEATURES,
                           is_bad=unlabelled, probability=np.full(len(shifted), 0.1),
                           as_of=pd.Series(["2024-05-01"] * len(shifted)))
    alerts = set(zip(result.alerts["check"], result.alerts["subject"], strict=True))
    assert alerts == {("feature_csi", "amount"), ("missing_rate_increase", "amount")}
    assert result.notes == ["the batch has no matured labels: no performance checks"]
    assert result.metrics()["monitor/alerts"] == 2.0


def test_report_is_self_contained_and_puts_alerts_first():
    reference, current = sample(1000, 1), sample(800, 4, shift=1.0)
    rng = np.random.default_rng(0)
    probability = rng.uniform(0.01, 0.5, len(current))
    is_bad = rng.random(len(current)) < probability
    as_of = np.repeat(pd.to_datetime(["2024-01-01", "2024-02-01"]), len(current) // 2)
    result = monitor_batch(reference, rng.normal(size=len(reference)), current,
                           rng.normal(size=len(current)), FEATURES, is_bad=is_bad,
                           probability=probability, as_of=as_of, reference_auc=0.8)
    thresholds = MonitoringThresholds()
    figures = monitoring_figures(result, thresholds, top=2)
    assert set(figures) == {"score_psi", "feature_csi", "missing_rate_increase", "auc_by_month"}
    page = build_monitoring_report(result, figures, model_label="pd_xgb version 3",
                                   details={"Batch": "june.parquet"})
    assert page.startswith("<!DOCTYPE html>") and "june.parquet" in page
    assert page.count("data:image/png;base64,") == 4
    assert "http" not in page.replace('lang="en"', "")
    alerts_at = page.index('class="badge alert"')
    assert alerts_at < page.index('class="badge ok"')
    assert "Performance by month" in page and "2024-02" in page
