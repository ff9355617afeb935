"""Stress scenarios: worse economies cost more and trigger more cuts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_models.errors import ConfigError
from credit_models.limits.decisions import decide_limits, load_policy
from credit_models.limits.stress import StressSettings, capital_requirement, stress_test
from credit_models.workflows.structured import settings_from
from tests.limits.conftest import LEVELS, random_portfolio

SCENARIOS = {
    "asset_correlation": 0.04, "confidence": 0.999,
    "scenarios": {
        "baseline": {"pd_multiplier": 1.0, "spend_multiplier": 1.0, "lgd_add": 0.0},
        "severe": {"pd_multiplier": 3.0, "spend_multiplier": 0.7, "lgd_add": 0.1},
    },
}


def test_capital_requirement_matches_the_irb_formula():
    # QRRE, PD 2 %, LGD 85 %: (G(0.02) + 0.2 G(0.999)) / sqrt(0.96) = (−2.0537 + 0.6180) / 0.9798
    # = −1.4653, N(−1.4653) = 0.07142, so K = 0.85 × (0.07142 − 0.02)
    assert capital_requirement(np.array([0.02]), np.array([0.85]), 0.04, 0.999)[0] == \
        pytest.approx(0.85 * (0.07142 - 0.02), rel=1e-3)


def test_a_severe_scenario_costs_more_and_cuts_more(raw_policy):
    policy = load_policy(raw_policy, LEVELS)
    portfolio = random_portfolio(600, seed=6)
    as_of = pd.Timestamp("2024-10-01", tz="UTC")
    granted = decide_limits(portfolio, policy, LEVELS, as_of, 6).customers["new_limit"]
    table = stress_test(portfolio, granted, policy, settings_from(StressSettings, SCENARIOS), LEVELS,
                        as_of, 6)
    baseline, severe = table.loc["baseline"], table.loc["severe"]
    assert severe["expected_loss"] > 2 * baseline["expected_loss"]
    assert severe["capital_at_risk"] > baseline["capital_at_risk"]
    assert severe["cuts"] > baseline["cuts"]
    assert severe["expected_loss_after_review"] < severe["expected_loss"]


def test_bad_scenario_is_refused():
    raw = {**SCENARIOS, "scenarios": {"crash": {"pd_multiplier": -1, "spend_multiplier": 1,
                                                 "lgd_add": 0}}}
    with pytest.raises(ConfigError, match="stress.scenarios.crash"):
        settings_from(StressSettings, raw)
