"""Periodic review (动态调额): from the current limit and a fresh target, one action per customer —
raise, keep or cut — within guardrails that hold whatever the models say:

* no raise within ``no_raise_months_after_delinquency`` of a delinquency;
* no raise within ``min_months_between_raises`` of the last raise;
* a raise adds at most ``max_step_share`` of the current limit and ``max_step_amount``, and never
  passes the ceiling;
* a cut only at a PD of ``cut_pd_threshold`` or more, removes at most ``max_cut_share`` of the
  limit at once, and never below the outstanding balance plus the customer's high-percentile
  peak month:
  a cut removes idle limit (the exposure a default would draw) without stopping the spending the
  customer normally does — a customer is not shut out overnight.

Each action carries its reason code (customer-facing, with a text) and ``review_guardrail``, the
one guardrail that held the new limit away from the target (empty where the limit follows the
target): the reason code says *that* a cut was held, the guardrail says by which rule, the floor
included, so a report can count, band by band, why limits stay above their target.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_models.limits.policy import LimitPolicy
from credit_models.limits.target_limits import round_down

ACTIONS = ("raise", "keep", "cut", "grant")
REVIEW_REASONS = ("raise_capped_by_max_step", "raise", "grant", "cut_capped_by_max_step",
                  "cut_held_at_need",
                  "cut_high_pd", "keep_recent_delinquency", "keep_raised_recently",
                  "keep_at_ceiling", "keep_balance_above_target", "keep_pd_below_cut_threshold",
                  "keep_no_line", "keep_near_target")
GUARDRAILS = ("max_raise_step", "ceiling", "no_raise_after_delinquency",
              "min_months_between_raises", "min_change", "cut_pd_threshold", "max_cut_share",
              "floor", "utilisation_protection")
"""The values of ``review_guardrail`` (besides ``""``), named after the policy's review rules:
a raise held by ``max_step_share``/``max_step_amount`` or the ceiling; no raise after a
delinquency or too soon after the last raise; a change within ``min_change``; no cut below
``cut_pd_threshold``; a cut held by ``max_cut_share``, the floor, or the balance plus the peak
month (utilisation protection)."""


def review_limits(portfolio: pd.DataFrame, target: pd.Series, policy: LimitPolicy,
                  room_needed: np.ndarray) -> pd.DataFrame:
    """Per customer: action, new_limit, review_reason and review_guardrail (see the module
    docstring).
    ``room_needed``: the room above the balance a cut leaves at least (a high-percentile peak
    month)."""
    rules = policy.review
    current = portfolio["current_limit"].to_numpy(dtype=float)
    wanted = target.to_numpy(dtype=float)
    pd_now = portfolio["pd"].to_numpy(dtype=float)
    balance = np.maximum(portfolio["balance"].to_numpy(dtype=float), 0.0)
    delinquent_recently = (portfolio["months_since_delinquency"].to_numpy(dtype=float)
                           < rules.no_raise_months_after_delinquency)
    raised_recently = (portfolio["months_since_raise"].to_numpy(dtype=float)
                       < rules.min_months_between_raises)
    has_line = current > 0
    wants_more = wanted > current * (1 + rules.min_change)
    wants_less = has_line & (wanted < current * (1 - rules.min_change))

    step_cap = np.minimum(rules.max_step_share * current, rules.max_step_amount)
    capped = (wanted - current) > step_cap
    raised = round_down(np.minimum(np.minimum(wanted, current + step_cap), policy.ceiling), policy)
    can_raise = has_line & wants_more & ~delinquent_recently & ~raised_recently & (raised > current)
    can_grant = ~has_line & (wanted > 0) & ~delinquent_recently
    may_cut = wants_less & (pd_now >= rules.cut_pd_threshold)
    deepest = np.ceil(current * (1 - rules.max_cut_share) / policy.rounding) * policy.rounding
    needed = np.ceil((balance + room_needed) / policy.rounding) * policy.rounding
    cut_to = np.maximum.reduce([wanted, needed, deepest])
    cut_to = np.where(cut_to > 0, np.maximum(cut_to, policy.floor), 0.0)
    can_cut = may_cut & (cut_to < current)

    action = np.select([can_raise, can_grant, can_cut], ["raise", "grant", "cut"], "keep")
    new_limit = np.select([can_raise, can_grant, can_cut], [raised, wanted, cut_to], current)
    reason = np.select(
        [can_raise & capped, can_raise, can_grant, can_cut & (cut_to == deepest) & (deepest > wanted),
         can_cut & (cut_to > wanted), can_cut,
         wants_more & delinquent_recently, wants_more & has_line & raised_recently,
         wants_more & has_line, may_cut, wants_less, ~has_line],
        ["raise_capped_by_max_step", "raise", "grant", "cut_capped_by_max_step",
         "cut_held_at_need", "cut_high_pd",
         "keep_recent_delinquency", "keep_raised_recently", "keep_at_ceiling",
         "keep_balance_above_target", "keep_pd_below_cut_threshold", "keep_no_line"],
        "keep_near_target",
    )
    # The guardrail a held cut ran into: the largest of the limits a cut may not pass.
    cut_guardrail = np.select(
        [(cut_to == policy.floor) & (policy.floor > np.maximum.reduce([wanted, needed, deepest])),
         (cut_to == deepest) & (deepest > wanted), (cut_to == needed) & (needed > wanted)],
        ["floor", "max_cut_share", "utilisation_protection"], "")
    over_ceiling = np.minimum(wanted, current + step_cap) > policy.ceiling
    guardrail = np.select(
        [can_raise & over_ceiling, can_raise & capped, can_raise | can_grant, can_cut,
         wants_more & delinquent_recently, wants_more & has_line & raised_recently,
         wants_more & has_line, may_cut, wants_less, ~has_line],
        ["ceiling", "max_raise_step", "", cut_guardrail,
         "no_raise_after_delinquency", "min_months_between_raises", "ceiling",
         cut_guardrail, "cut_pd_threshold", ""],
        "min_change",
    )
    return pd.DataFrame({"action": action, "new_limit": new_limit, "review_reason": reason,
                         "review_guardrail": guardrail}, index=portfolio.index)
