"""The segment section's bureau-score segment: customers with and without another lender's score,
measured apart when the feature matrix has the score."""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_models.reporting.segments_section import (
    BUREAU_SCORE_FEATURE,
    segment_performance,
    standard_segments,
)


def test_the_bureau_feature_is_the_static_feature_of_attr_bureau_score() -> None:
    assert BUREAU_SCORE_FEATURE == "customer__bureau_score__value"


def test_a_missing_score_is_its_own_segment_value() -> None:
    features = pd.DataFrame({BUREAU_SCORE_FEATURE: [712.0, np.nan, 580.0, np.nan]},
                            index=[10, 11, 12, 13])
    segments = standard_segments(features)
    assert list(segments) == ["bureau score"]
    assert segments["bureau score"].tolist() == [
        "with bureau score", "without bureau score", "with bureau score", "without bureau score",
    ]
    assert standard_segments(pd.DataFrame({"customer__age__value": [30.0]})) == {}


def test_segment_metrics_for_customers_with_and_without_a_score() -> None:
    rng = np.random.default_rng(3)
    rows = 400
    has_score = rng.random(rows) < 0.7
    features = pd.DataFrame({
        BUREAU_SCORE_FEATURE: np.where(has_score, rng.normal(680, 80, rows), np.nan),
    })
    probability = rng.uniform(0.01, 0.3, rows)
    is_bad = rng.random(rows) < probability * np.where(has_score, 1.0, 2.0)
    in_test = np.arange(rows) % 2 == 0
    test = pd.DataFrame({"is_bad": is_bad[in_test].astype(int),
                         "probability": probability[in_test]})
    performance = segment_performance(test, in_test, features, {}, bins=5)
    table = performance.table.set_index(["segment", "group"])
    with_score = table.loc[("bureau score", "with bureau score")]
    without = table.loc[("bureau score", "without bureau score")]
    assert with_score["rows"] == (has_score & in_test).sum()
    assert without["rows"] == (~has_score & in_test).sum()
    assert abs(with_score["share"] + without["share"] - 1.0) < 1e-12
    assert without["bad_rate"] > with_score["bad_rate"]
    assert "new customers need the feature" in " ".join(performance.missing)
