"""Target limits, review guardrails and campaign limits on random portfolios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_models.errors import ConfigError, DataContractError
from credit_models.limits.decisions import decide_limits, load_policy
from credit_models.limits.demand import DemandDistribution
from credit_models.limits.target_limits import (
    demand_distribution,
    grid_outcomes,
    limit_grid,
    target_limits,
)
from tests.limits.conftest import LEVELS, random_portfolio

AS_OF = pd.Timestamp("2024-10-01", tz="UTC")


def test_lognormal_demand_matches_monte_carlo():
    demand = DemandDistribution.from_quantiles(np.array([2000.0]), np.array([5000.0]), 0.5, 0.9)
    draws = np.exp(np.random.default_rng(1).normal(demand.log_median[0], demand.log_sigma[0],
                                                   400_000))
    assert np.quantile(draws, 0.9) == pytest.approx(5000, rel=0.01)
    for limit in (1000.0, 4000.0, 20000.0):
        used = demand.expected_use(np.array([limit]))[0]
        assert used == pytest.approx(np.minimum(draws, limit).mean(), rel=0.01)
        shortfall = demand.shortfall_probability(np.array([limit]))[0]
        assert shortfall == pytest.approx((draws > limit).mean(), abs=0.005)


def test_tiers_apply_the_matrix_floor_ceiling_and_rounding(raw_policy):
    raw_policy["method"] = "tiers"
    policy = load_policy(raw_policy, LEVELS)
    portfolio = random_portfolio(4, seed=0).assign(
        pd=[0.005, 0.05, 0.5, 0.25], capacity_q90=[1234.0, 30000.0, 3000.0, 200.0])
    frame = target_limits(portfolio, policy, LEVELS, 6).frame
    # A band, low capacity: 2.5 × 1234 = 3085 → 3000; C band, high: 1.2 × 30000 = 36000;
    # PD 0.5 ≥ max_pd: no line; E band: multiplier 0.
    assert frame["target_limit"].tolist() == [3000.0, 36000.0, 0.0, 0.0]
    assert frame["binding_rule"].tolist() == ["capacity", "capacity", "pd_above_max", "pd_band"]
    assert frame["pd_band"].tolist() == ["A", "C", "E", "E"]


def test_optimum_keeps_the_portfolio_within_its_loss_budget(raw_policy):
    raw_policy["optimum"]["expected_loss_budget"] = 0.02
    policy = load_policy(raw_policy, LEVELS)
    portfolio = random_portfolio(3000, seed=1)
    result = target_limits(portfolio, policy, LEVELS, 6)
    outcomes = grid_outcomes(portfolio, policy, demand_distribution(portfolio, LEVELS), 6)
    choice = np.searchsorted(outcomes.grid, result.frame["target_limit"].to_numpy())
    rows = np.arange(len(portfolio))
    rate = outcomes.expected_loss[rows, choice].sum() / outcomes.exposure[rows, choice].sum()
    assert result.shadow_price > 0
    assert rate <= 0.02 + 1e-9
    assert (result.frame["binding_rule"] == "el_budget").any()
    assert set(result.frame["target_limit"]) <= set(limit_grid(policy))


def test_riskier_customers_get_no_more_limit(raw_policy):
    policy = load_policy(raw_policy, LEVELS)
    portfolio = random_portfolio(1, seed=2).assign(current_limit=5000.0)
    ladder = pd.concat([portfolio] * 6, ignore_index=True).assign(
        pd=[0.002, 0.01, 0.03, 0.08, 0.2, 0.4])
    limits = target_limits(ladder, policy, LEVELS, 6).frame["target_limit"]
    assert limits.is_monotonic_decreasing
    assert limits.iloc[-1] == 0.0


def test_pd_elasticity_lowers_limits(raw_policy):
    portfolio = random_portfolio(500, seed=3)
    totals = []
    for elasticity in (0.0, 0.5):
        raw_policy["optimum"]["pd_elasticity"] = elasticity
        raw_policy["optimum"]["expected_loss_budget"] = 1.0
        policy = load_policy(raw_policy, LEVELS)
        totals.append(target_limits(portfolio, policy, LEVELS, 6).frame["target_limit"].sum())
    assert totals[1] < totals[0]


def test_bad_portfolio_rows_are_named(raw_policy):
    policy = load_policy(raw_policy, LEVELS)
    portfolio = random_portfolio(10, seed=4)
    portfolio.loc[3, "pd"] = np.nan
    portfolio.loc[7, "current_limit"] = -100.0
    with pytest.raises(DataContractError) as error:
        decide_limits(portfolio, policy, LEVELS, AS_OF, 6)
    message = str(error.value)
    assert "[limit portfolio.pd] must be a probability" in message
    assert "[limit portfolio.current_limit]" in message and "-100" in message


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), method=st.sampled_from(["optimum", "tiers"]),
       max_step_share=st.floats(0.05, 1.0), max_step_amount=st.floats(100, 20_000),
       min_months=st.integers(0, 12), delinquency_months=st.integers(0, 12),
       cut_threshold=st.floats(0.0, 0.5))
def test_review_guardrails_always_hold(policy_config, seed, method, max_step_share,
                                       max_step_amount, min_months, delinquency_months,
                                       cut_threshold):
    raw = {**policy_config, "method": method, "review": {
        **policy_config["review"], "max_step_share": max_step_share,
        "max_step_amount": max_step_amount, "min_months_between_raises": min_months,
        "no_raise_months_after_delinquency": delinquency_months,
        "cut_pd_threshold": cut_threshold,
    }}
    policy = load_policy(raw, LEVELS)
    portfolio = random_portfolio(300, seed=seed)
    decisions = decide_limits(portfolio, policy, LEVELS, AS_OF, 6).customers
    current, new = decisions["current_limit"], decisions["new_limit"]
    raised = decisions["action"] == "raise"
    assert (new[raised] > current[raised]).all()
    assert (new[raised] - current[raised] <= np.minimum(max_step_share * current[raised],
                                                        max_step_amount) + 1e-9).all()
    assert (new[raised] <= policy.ceiling).all()
    assert not (raised & (decisions["months_since_delinquency"] < delinquency_months)).any()
    assert not (raised & (decisions["months_since_raise"] < min_months)).any()
    cut = decisions["action"] == "cut"
    assert (decisions.loc[cut, "pd"] >= cut_threshold).all()
    assert (new[cut] < current[cut]).all()
    assert (new[cut] >= decisions.loc[cut, "balance"]).all()
    unchanged = decisions["action"] == "keep"
    assert (new[unchanged] == current[unchanged]).all()
    granted = decisions["action"] == "grant"
    assert (current[granted] == 0).all()
    assert decisions["review_reason_text"].notna().all()


def test_campaign_limits_go_to_busy_safe_customers_and_expire(raw_policy):
    policy = load_policy(raw_policy, LEVELS)
    portfolio = random_portfolio(400, seed=5)
    decisions = decide_limits(portfolio, policy, LEVELS, AS_OF, 6)
    promotions = decisions.promotions
    assert set(promotions["window"]) == {"618", "double_11"}
    double_11 = promotions[promotions["window"] == "double_11"]
    assert (double_11["starts_at"] == pd.Timestamp("2024-11-01", tz="UTC")).all()
    assert (double_11["expires_at"] == pd.Timestamp("2024-11-14", tz="UTC")).all()
    eligible = double_11[double_11["eligible"]]
    customers = decisions.customers.loc[eligible.index]
    assert len(eligible) > 0
    assert (customers["pd"] < policy.promotion.max_pd).all()
    assert (eligible["extra"] <= policy.promotion.max_extra).all()
    assert (eligible["extra"] <= policy.promotion.extra_share * customers["new_limit"]).all()
    assert (eligible["extra"] % policy.rounding == 0).all()
    assert (double_11.loc[~double_11["eligible"], "extra"] == 0).all()
    # Demand sizing: the extra makes room for the predicted campaign month, no more than that
    # needs (rounded up), and nobody whose predicted basket already fits gets one.
    room = customers["new_limit"] - customers["balance"]
    demand = policy.promotion.demand_multiplier * customers[policy.promotion.demand_basis]
    assert (eligible["extra"] < demand - room + policy.rounding).all()
    assert (demand > room).all()
    everyone = decisions.customers
    fits = double_11["promotion_reason"] == "demand_fits"
    assert fits.any()
    fitting = everyone.loc[fits[fits].index]
    assert (policy.promotion.demand_multiplier * fitting[policy.promotion.demand_basis]
            <= fitting["new_limit"] - fitting["balance"]).all()


def test_share_sized_campaign_limits_go_to_customers_using_their_line(raw_policy):
    raw_policy["promotion"].update(sizing="share", extra_share=0.5)
    policy = load_policy(raw_policy, LEVELS)
    decisions = decide_limits(random_portfolio(400, seed=5), policy, LEVELS, AS_OF, 6)
    promotions = decisions.promotions
    eligible = promotions[promotions["eligible"]]
    customers = decisions.customers.loc[eligible.index]
    assert len(eligible) > 0
    assert (customers["balance"] >= policy.promotion.min_utilisation * customers["new_limit"]).all()
    expected = np.minimum(0.5 * customers["new_limit"], policy.promotion.max_extra)
    np.testing.assert_allclose(eligible["extra"], np.floor(expected / policy.rounding)
                               * policy.rounding)


def test_demand_sizing_needs_a_capacity_quantile_the_model_predicts(raw_policy):
    raw_policy["promotion"]["demand_basis"] = "capacity_q75"
    with pytest.raises(ConfigError, match="demand_basis"):
        load_policy(raw_policy, LEVELS)

