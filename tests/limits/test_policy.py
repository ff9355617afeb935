"""A bad policy is refused at load, naming the key, the rule and the value."""

from __future__ import annotations

import math

import pytest

from credit_models.errors import ConfigError
from credit_models.limits.decisions import load_policy
from credit_models.limits.policy import TargetMethod
from tests.limits.conftest import LEVELS


def test_shipped_policy_loads(raw_policy):
    policy = load_policy(raw_policy, LEVELS)
    assert policy.method is TargetMethod.optimum
    assert [band.name for band in policy.tiers.pd_bands] == ["A", "B", "C", "D", "E"]
    assert policy.tiers.capacity_bands[-1].upper == math.inf
    assert {window.name for window in policy.promotion.windows} == {"618", "double_11"}


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: p["tiers"]["pd_bands"].update(B=[0.005, 0.03]), "overlap: A"),
    (lambda p: p["tiers"]["pd_bands"].update(B=[0.02, 0.03]), "gap: A"),
    (lambda p: p["tiers"]["capacity_bands"].update(high=[5000, 90000]), "must cover"),
    (lambda p: p.update(floor=60000), "floor (60000) must not be above policy.ceiling"),
    (lambda p: p["tiers"]["multipliers"].update(C=[1.5, -1.0, 1.2]), "multipliers.C"),
    (lambda p: p["tiers"]["multipliers"].update(C=[1.5, 1.2]), "needs 3 values"),
    (lambda p: p["tiers"]["multipliers"].pop("E"), "missing ['E']"),
    (lambda p: p["tiers"].update(basis="capacity_q75"), "policy.tiers.basis"),
    (lambda p: p.update(method="gut_feeling"), "policy.method"),
    (lambda p: p.update(lgd=1.5), "policy.lgd"),
    (lambda p: p["optimum"].update(expected_loss_budget=0), "expected_loss_budget"),
    (lambda p: p["review"].update(max_step_share=-0.1), "policy.review.max_step_share"),
    (lambda p: p["promotion"]["windows"]["618"].update(expiry_day=1), "windows.618"),
    (lambda p: p["reason_texts"].pop("el_budget"), "missing ['el_budget']"),
    (lambda p: p["reason_texts"]["floor"].update(zh=""), "incomplete ['floor']"),
])
def test_bad_policy_is_refused(raw_policy, change, message):
    change(raw_policy)
    with pytest.raises(ConfigError) as error:
        load_policy(raw_policy, LEVELS)
    assert message in str(error.value)
