"""Recourse: the change each customer's limit needs for a raise, found by the policy itself."""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_models.limits.decisions import decide_limits, load_policy
from credit_models.limits.recourse import RECOURSE_CODES, RECOURSE_COLUMNS, limit_recourse
from tests.limits.conftest import LEVELS, random_portfolio

AS_OF = pd.Timestamp("2024-11-01", tz="UTC")


def _tiers(raw_policy):
    raw_policy["method"] = "tiers"
    return load_policy(raw_policy, LEVELS)


def _customers() -> pd.DataFrame:
    columns = ["pd", "capacity_q50", "capacity_q90", "current_limit", "balance",
               "months_since_delinquency", "months_since_raise"]
    rows = {
        # band B, q90 4,000 × 2.0 = 8,000 target against 4,000: raised now
        "raised": (0.02, 2_000, 4_000, 4_000, 0, np.nan, np.nan),
        # the same, two months after a late payment: a raise after 4 more months
        "wait": (0.02, 2_000, 4_000, 4_000, 0, 2.0, np.nan),
        # band D (× 0.9 → 3,600 against 4,000): a lower PD moves it to a band that raises
        "lower_risk": (0.10, 2_000, 4_000, 4_000, 0, np.nan, np.nan),
        # at the ceiling: no raise whatever changes
        "ceiling": (0.02, 20_000, 40_000, 50_000, 0, np.nan, np.nan),
    }
    return pd.DataFrame(rows.values(), index=pd.Index(list(rows), name="customer_id"),
                        columns=columns)


def test_each_customer_gets_the_change_that_brings_a_raise(raw_policy):
    policy = _tiers(raw_policy)
    table = limit_recourse(_customers(), policy, LEVELS, AS_OF, 6)

    assert list(table.columns) == list(RECOURSE_COLUMNS)
    assert table["recourse"].to_dict() == {name: name for name in table.index}
    assert table.loc["wait", "months_to_wait"] == 4
    assert table.loc["wait", "limit_after"] == 6_000        # + 50 % of the limit at most
    lower = table.loc["lower_risk"]
    assert lower["pd_needed"] < 0.08 <= lower["pd"]          # into band C or better
    assert lower["limit_after"] > lower["current_limit"]
    assert "4 more months" in table.loc["wait", "recourse_en"]
    assert "4个月" in table.loc["wait", "recourse_zh"]
    assert "违约概率" in lower["recourse_zh"]


def test_the_change_found_does_raise_the_limit(raw_policy):
    policy = load_policy(raw_policy, LEVELS)
    portfolio = random_portfolio(300, 11)
    table = limit_recourse(portfolio, policy, LEVELS, AS_OF, 6)
    price = decide_limits(portfolio, policy, LEVELS, AS_OF, 6).shadow_price
    assert set(table["recourse"]) <= set(RECOURSE_CODES)

    found = table[table["recourse"] == "lower_risk"]
    assert not found.empty and (found["pd_needed"] < found["pd"]).all()
    changed = portfolio.loc[found.index].assign(
        pd=found["pd_needed"],
        months_since_delinquency=portfolio.loc[found.index, "months_since_delinquency"].clip(
            lower=policy.review.no_raise_months_after_delinquency),
        months_since_raise=portfolio.loc[found.index, "months_since_raise"].clip(
            lower=policy.review.min_months_between_raises))
    redecided = decide_limits(changed, policy, LEVELS, AS_OF, 6, shadow_price=price).customers
    assert redecided["action"].isin(["raise", "grant"]).all()
    assert np.allclose(redecided["new_limit"], found["limit_after"])
    not_raised = table["recourse"] != "raised"
    assert (table.loc[not_raised, "recourse_en"].str.len() > 0).all()


def test_the_summary_counts_the_customers_not_raised_by_what_would_change_it(raw_policy):
    from credit_models.limits.recourse import recourse_summary
    from credit_models.workflows.limits import recourse_metrics

    table = limit_recourse(_customers(), _tiers(raw_policy), LEVELS, AS_OF, 6)
    summary = recourse_summary(table)
    assert list(summary.index) == ["wait", "lower_risk", "ceiling"]   # "raised" left out
    assert summary["customers"].sum() == 3 and summary["share"].sum() == 1.0
    assert summary.loc["wait", "mean_months_to_wait"] == 4
    assert summary.loc["lower_risk", "median_pd_needed_to_pd"] < 0.8
    assert "customer_id" not in summary.reset_index().columns           # aggregates only
    metrics = recourse_metrics(table)
    assert metrics["recourse/not_raised"] == 3
    assert metrics["recourse/wait_share"] == metrics["recourse/lower_risk_share"] == 1 / 3
    assert metrics["recourse/none_found_share"] == 0.0
