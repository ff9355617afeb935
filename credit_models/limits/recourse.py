"""Recourse for a limit that was not raised: what would have to change for the policy's own review
to raise it — the second half of the answer to "why can't my limit grow".

The reason codes say *why* (the rule that held the limit, the features that push the PD up);
recourse says *what would change it*. The answer comes from the policy itself, not from a rule of
thumb: each customer's row is decided again

1. with the waiting periods over (no raise within months of a delinquency or of the last raise),
2. then, where that is not enough, with a lower PD (a better risk assessment),
3. else with more predicted spending (the limit follows the customer's needs),

everything else held, at the EL price of the original decision, so that the answer does not depend
on who else is in the batch. Each customer gets the first change that brings a raise (or a first
line), the limit it would bring, and a bilingual sentence a service agent can read out.

Recourse speaks only of behaviour the customer controls — months of on-time repayment without a
delinquency, a lower risk through on-time repayment and lower utilisation, more spending — never of
a sensitive or immutable attribute: the searched changes are the waiting periods, the PD and the
predicted spending, nothing else of the customer's row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from credit_models.limits.capacity_metrics import quantile_column
from credit_models.limits.decisions import decide_limits
from credit_models.limits.policy import LimitPolicy

PD_FACTORS = tuple(float(factor) for factor in np.geomspace(0.95, 0.02, 40))
"""Candidate PDs as shares of the customer's own, searched from the smallest change down."""
SPEND_FACTORS = (1.1, 1.25, 1.5, 2.0, 3.0)
"""Candidate multiples of the predicted spending (every capacity quantile)."""
RAISED = ("raise", "grant")
Decide = Callable[[pd.DataFrame], pd.DataFrame]
RECOURSE_CODES = ("raised", "wait", "lower_risk", "more_spending", "ceiling", "none_found")
"""``raised``: nothing to change; ``wait``: the waiting periods alone; ``lower_risk``: a lower PD
(after any wait); ``more_spending``: higher predicted spending (after any wait); ``ceiling``: the
product's highest limit is reached; ``none_found``: no change searched brings a raise."""
RECOURSE_DETAIL_COLUMNS = ("months_to_wait", "pd_needed", "spend_needed", "recourse",
                           "limit_after", "recourse_en", "recourse_zh")
"""What recourse adds to a customer's decision."""
RECOURSE_COLUMNS = ("action", "review_reason", "current_limit", "pd", *RECOURSE_DETAIL_COLUMNS)


def limit_recourse(portfolio: pd.DataFrame, policy: LimitPolicy, levels: Sequence[float],
                   as_of: pd.Timestamp, pd_horizon_months: int,
                   shadow_price: float | None = None) -> pd.DataFrame:
    """One row per customer of ``portfolio`` (the policy's input, index customer_id), columns
    :data:`RECOURSE_COLUMNS`:

    * ``months_to_wait``: whole months until the review's waiting periods are over (0: none);
    * ``pd_needed``: the highest PD searched at which the review raises the limit (after the
      wait); NaN where the wait alone is enough or no PD searched is;
    * ``spend_needed``: the smallest multiple of the predicted spending at which it does, where
      no PD does; NaN otherwise;
    * ``recourse``: one of :data:`RECOURSE_CODES`; ``limit_after`` the limit that change brings
      (the current one where none does); ``recourse_en`` / ``recourse_zh`` the sentence.

    ``shadow_price``: the EL budget's price of the decision being explained (the run's or the
    served model's); None finds it on ``portfolio`` itself."""
    decide = _decider(policy, levels, as_of, pd_horizon_months, shadow_price)
    now = decide(portfolio)
    rules = policy.review
    wait = np.maximum.reduce([
        np.zeros(len(portfolio)),
        np.nan_to_num(rules.no_raise_months_after_delinquency
                      - portfolio["months_since_delinquency"].to_numpy(dtype=float), nan=0.0),
        np.nan_to_num(rules.min_months_between_raises
                      - portfolio["months_since_raise"].to_numpy(dtype=float), nan=0.0),
    ])
    months_to_wait = pd.Series(np.ceil(wait), index=portfolio.index)
    waited = portfolio.assign(
        months_since_delinquency=portfolio["months_since_delinquency"].clip(
            lower=rules.no_raise_months_after_delinquency),
        months_since_raise=portfolio["months_since_raise"].clip(
            lower=rules.min_months_between_raises))
    after_wait = decide(waited)
    raised_now = now["action"].isin(RAISED)
    # Within min_change of the ceiling no target is far enough above the limit for a raise.
    at_ceiling = (portfolio["current_limit"] > 0) & (
        portfolio["current_limit"] * (1 + rules.min_change) >= policy.ceiling)
    open_ = ~raised_now & ~at_ceiling & ~after_wait["action"].isin(RAISED)

    pd_needed, limit_at_pd = _first_raise(
        waited[open_], PD_FACTORS, decide,
        lambda rows, factor: rows.assign(pd=rows["pd"] * factor),
        lambda rows, factor: rows["pd"] * factor)
    no_pd = open_ & pd_needed.reindex(portfolio.index).isna()
    quantiles = [quantile_column(level) for level in levels]
    spend_needed, limit_at_spend = _first_raise(
        waited[no_pd], SPEND_FACTORS, decide,
        lambda rows, factor: rows.assign(**{column: rows[column] * factor
                                            for column in quantiles}),
        lambda rows, factor: pd.Series(factor, index=rows.index))

    table = pd.DataFrame({
        "action": now["action"], "review_reason": now["review_reason"],
        "current_limit": portfolio["current_limit"], "pd": portfolio["pd"],
        "months_to_wait": months_to_wait,
        "pd_needed": pd_needed.reindex(portfolio.index),
        "spend_needed": spend_needed.reindex(portfolio.index),
    })
    code = np.select(
        [raised_now, at_ceiling, ~open_, table["pd_needed"].notna(),
         table["spend_needed"].notna()],
        ["raised", "ceiling", "wait", "lower_risk", "more_spending"], "none_found")
    table["recourse"] = code
    limit_after = (now["new_limit"].where(raised_now)
                   .fillna(after_wait["new_limit"].where(~open_ & ~at_ceiling))
                   .fillna(limit_at_pd.reindex(portfolio.index))
                   .fillna(limit_at_spend.reindex(portfolio.index))
                   .fillna(portfolio["current_limit"]))
    table["limit_after"] = limit_after
    table["recourse_en"] = [_sentence(row, "en") for _, row in table.iterrows()]
    table["recourse_zh"] = [_sentence(row, "zh") for _, row in table.iterrows()]
    return table[list(RECOURSE_COLUMNS)]


RECOURSE_MEANINGS = {
    "wait": "the review's waiting period alone (months since a delinquency or the last raise)",
    "lower_risk": "a lower default probability (after any wait)",
    "more_spending": "higher predicted spending (after any wait)",
    "ceiling": "none: the limit is at the product's highest limit",
    "none_found": "no change searched brings a raise",
}


def next_review_at(as_of: pd.Series, recourse: pd.DataFrame) -> pd.Series:
    """When the policy next reviews each customer (UTC), for ``recourse`` rows
    (:func:`limit_recourse`) dated ``as_of`` (same index). Limits are reviewed at every month start
    (``backtest.monthly_review``): a customer raised now, or with no waiting period, at the first
    month start after ``as_of``; one within a waiting period at the first month start at or after
    its end (``as_of`` plus ``months_to_wait`` months), the first review that can raise the
    limit."""
    at = pd.to_datetime(as_of, utc=True)
    waiting = recourse["months_to_wait"].where(~recourse["recourse"].eq("raised"), 0.0)
    months = waiting.reindex(at.index).fillna(0.0).astype(int)
    month_start = pd.offsets.MonthBegin(1)
    reviews = [
        ((moment + pd.DateOffset(months=wait) - pd.Timedelta(1, "ns")).normalize() + month_start
         if wait > 0 else moment.normalize() + month_start)
        for moment, wait in zip(at, months, strict=True)
    ]
    return pd.Series(pd.DatetimeIndex(reviews, tz="UTC"), index=at.index)


def recourse_summary(recourse: pd.DataFrame) -> pd.DataFrame:
    """The customers not raised, by what would change their answer: how many, their share, the
    mean wait, the median PD needed as a share of the current one, and the mean limit a raise
    would bring. Aggregates only: what a run may log without customer rows."""
    held = recourse[~recourse["recourse"].eq("raised")]
    grouped = held.groupby("recourse", sort=False)
    summary = pd.DataFrame({
        "customers": grouped.size(),
        "share": grouped.size() / max(len(held), 1),
        "mean_months_to_wait": grouped["months_to_wait"].mean(),
        "median_pd_needed_to_pd": (held["pd_needed"] / held["pd"]).groupby(
            held["recourse"], sort=False).median(),
        "mean_current_limit": grouped["current_limit"].mean(),
        "mean_limit_after": grouped["limit_after"].mean(),
    })
    order = [code for code in RECOURSE_MEANINGS if code in summary.index]
    summary = summary.loc[order]
    summary.insert(0, "what_would_change_it", [RECOURSE_MEANINGS[code] for code in order])
    return summary.rename_axis("recourse")


def _decider(policy: LimitPolicy, levels: Sequence[float], as_of: pd.Timestamp,
             pd_horizon_months: int, shadow_price: float | None) -> Decide:
    """The policy's decision on a frame of rows; a first call fixes the EL price for the rest."""
    price = shadow_price

    def decide(rows: pd.DataFrame) -> pd.DataFrame:
        nonlocal price
        decided = decide_limits(rows, policy, levels, as_of, pd_horizon_months,
                                shadow_price=price)
        price = decided.shadow_price
        return decided.customers

    return decide


def _first_raise(rows: pd.DataFrame, factors: Sequence[float], decide: Decide,
                 changed: Callable[[pd.DataFrame, float], pd.DataFrame],
                 value: Callable[[pd.DataFrame, float], pd.Series]
                 ) -> tuple[pd.Series, pd.Series]:
    """Per row, the ``value`` of the first factor (in order) whose ``changed`` rows the policy
    raises, and the limit it grants; rows none raises are left out."""
    if rows.empty:
        return pd.Series(dtype=float), pd.Series(dtype=float)
    trials = pd.concat([changed(rows, factor).assign(_factor=factor) for factor in factors])
    customers = trials.index
    decided = decide(trials.drop(columns="_factor").reset_index(drop=True))
    values = pd.concat([value(rows, factor) for factor in factors]).to_numpy()
    found = pd.DataFrame({"customer": customers, "value": values,
                          "limit": decided["new_limit"].to_numpy(),
                          "raised": decided["action"].isin(RAISED).to_numpy()})
    first = found[found["raised"]].groupby("customer", sort=False).first()
    return first["value"].rename(None), first["limit"].rename(None)


def _sentence(row: pd.Series, language: str) -> str:
    """What a service agent can say: the change that brings a raise, with its numbers."""
    wait = int(row["months_to_wait"])
    zh = language == "zh"
    code = row["recourse"]
    if code == "raised":
        return "额度已提升" if zh else "the limit has been raised"
    if code == "ceiling":
        return "已达到产品最高额度" if zh else "the limit is at the product's highest limit"
    if code == "none_found":
        return ("暂无可提升额度的途径，请继续按时还款" if zh
                else "no change searched brings a raise; keep repaying on time")
    months = f"{wait} more month{'' if wait == 1 else 's'}"
    waiting = ((f"保持按时还款{wait}个月，" if zh else f"after {months} of on-time repayments, ")
               if wait > 0 else "")
    if code == "wait":
        return (f"{waiting}可重新评估提额" if zh else f"{waiting}the limit can be raised")
    if code == "lower_risk":
        return (f"{waiting}违约概率由{row['pd']:.1%}降至{row['pd_needed']:.1%}以下后可提额；"
                "按时还款、降低额度使用率有助于降低违约概率" if zh else
                f"{waiting}a raise comes at a default probability of {row['pd_needed']:.1%} or "
                f"less (now {row['pd']:.1%}); repaying on time and using less of the limit "
                "lower it")
    return (f"{waiting}使用本产品的月消费增长约{row['spend_needed'] - 1:.0%}后可提额（额度随消费需求增长）"
            if zh else f"{waiting}a raise comes once your monthly spending with us grows by about "
            f"{row['spend_needed'] - 1:.0%} (the limit follows your spending)")
