"""The review names the guardrail that held each limit away from its target."""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_models.limits.decisions import load_policy
from credit_models.limits.review import GUARDRAILS, review_limits
from tests.limits.conftest import LEVELS, random_portfolio

CASES = {
    # name: current, target, pd, balance, room, months since delinquency, since raise
    "max_cut_share": (10_000, 1_000, 0.20, 0, 0, np.nan, np.nan),
    "utilisation_protection": (10_000, 1_000, 0.20, 6_000, 1_000, np.nan, np.nan),
    "floor": (800, 100, 0.20, 0, 0, np.nan, np.nan),
    "cut_pd_threshold": (10_000, 1_000, 0.01, 0, 0, np.nan, np.nan),
    "max_raise_step": (4_000, 20_000, 0.01, 0, 0, np.nan, np.nan),
    "ceiling": (49_000, 80_000, 0.01, 0, 0, np.nan, np.nan),
    "no_raise_after_delinquency": (4_000, 6_000, 0.01, 0, 0, 2, np.nan),
    "min_months_between_raises": (4_000, 6_000, 0.01, 0, 0, np.nan, 2),
    "min_change": (4_000, 4_200, 0.01, 0, 0, np.nan, np.nan),
    "": (4_000, 5_000, 0.01, 0, 0, np.nan, np.nan),   # a plain raise to the target
}


def test_each_guardrail_is_named_where_it_holds_the_limit(raw_policy):
    policy = load_policy(raw_policy, LEVELS)
    columns = ["current_limit", "target", "pd", "balance", "room", "months_since_delinquency",
               "months_since_raise"]
    cases = pd.DataFrame(CASES.values(), index=list(CASES), columns=columns)
    review = review_limits(cases, cases["target"], policy, cases["room"].to_numpy(dtype=float))

    assert review["review_guardrail"].to_dict() == {name: name for name in CASES}
    assert review.loc["max_cut_share", "new_limit"] == 5_000          # half the limit at once
    assert review.loc["utilisation_protection", "new_limit"] == 7_000  # balance + peak month
    assert review.loc["floor", "new_limit"] == policy.floor
    assert review.loc["", "new_limit"] == 5_000


def test_every_limit_kept_above_its_target_names_a_guardrail(raw_policy):
    policy = load_policy(raw_policy, LEVELS)
    portfolio = random_portfolio(2_000, 5)
    target = pd.Series(np.round(portfolio["capacity_q50"].to_numpy() * 2, -2),
                       index=portfolio.index)
    review = review_limits(portfolio, target, policy, portfolio["capacity_q90"].to_numpy())

    above = review["new_limit"] > target
    assert above.any()
    assert set(review["review_guardrail"]) <= {*GUARDRAILS, ""}
    assert (review.loc[above, "review_guardrail"] != "").all()
