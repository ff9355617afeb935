"""The whole policy on a portfolio: target limit → review action → campaign limits, each decision
with its rule code and the customer-facing text for it.

This is the one entry point the jobs, the backtest, the stress test and the served model use, so a
limit is decided the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from credit_models.errors import ConfigError
from credit_models.explain.reason_codes import Language
from credit_models.limits.capacity_metrics import quantile_column
from credit_models.limits.policy import LimitPolicy
from credit_models.limits.portfolio import check_portfolio
from credit_models.limits.promotion import PROMOTION_REASONS, promotion_limits
from credit_models.limits.review import REVIEW_REASONS, review_limits
from credit_models.limits.target_limits import BINDING_RULES, target_limits

LANGUAGES = tuple(language.value for language in Language if language is not Language.both)
"""The reason codes' languages: a decision's texts are in one of them."""
REASON_CODES = tuple(dict.fromkeys((*BINDING_RULES, *REVIEW_REASONS, *PROMOTION_REASONS)))


def load_policy(raw: Mapping[str, Any], levels: Sequence[float]) -> LimitPolicy:
    """The policy from its config, refused at load when any rule or reason text is wrong."""
    policy = LimitPolicy.from_config(raw, [quantile_column(level) for level in levels])
    missing = [code for code in REASON_CODES if code not in policy.reason_texts]
    incomplete = [code for code, texts in policy.reason_texts.items()
                  if any(not texts.get(language) for language in LANGUAGES)]
    unknown = sorted(set(policy.reason_texts) - set(REASON_CODES))
    if missing or incomplete or unknown:
        raise ConfigError(
            "policy.reason_texts needs a {zh, en} text for every rule code; "
            f"missing {missing}, incomplete {incomplete}, unknown {unknown}"
        )
    return policy


@dataclass(frozen=True)
class LimitDecisions:
    customers: pd.DataFrame
    """Per customer: the inputs, target_limit, binding_rule, pd_band, capacity_band,
    expected_use, shortfall_probability, action, new_limit, review_reason and their texts."""
    promotions: pd.DataFrame
    """Per customer and campaign window: eligible, extra, starts_at, expires_at, reason."""
    shadow_price: float

    def promotion_extra(self, window: str) -> pd.Series:
        rows = self.promotions[self.promotions["window"] == window]
        return rows["extra"].reindex(self.customers.index, fill_value=0.0)

    def table(self, reasons: pd.DataFrame | None = None) -> pd.DataFrame:
        """One row per customer: the decision, each campaign's extra limit, then ``reasons``
        (e.g. the PD's top reason codes, same index)."""
        extras = {f"promotion_{window}_extra": self.promotion_extra(window)
                  for window in self.promotions["window"].unique()}
        return pd.concat([self.customers, pd.DataFrame(extras), reasons], axis=1)


def decide_limits(portfolio: pd.DataFrame, policy: LimitPolicy, levels: Sequence[float],
                  as_of: pd.Timestamp, pd_horizon_months: int, language: str = "en",
                  shadow_price: float | None = None) -> LimitDecisions:
    """``shadow_price``: see :func:`~credit_models.limits.target_limits.target_limits`."""
    levels = tuple(sorted(levels))
    check_portfolio(portfolio, [quantile_column(level) for level in levels])
    target = target_limits(portfolio, policy, levels, pd_horizon_months, shadow_price)
    peak_month = portfolio[quantile_column(max(levels))].to_numpy(dtype=float)
    review = review_limits(portfolio, target.frame["target_limit"], policy, peak_month)
    customers = pd.concat([portfolio, target.frame, review], axis=1)
    customers["binding_rule_text"] = reason_text(customers["binding_rule"], policy, language)
    customers["review_reason_text"] = reason_text(customers["review_reason"], policy, language)
    promotions = promotion_limits(portfolio, customers["new_limit"], policy, as_of)
    promotions["promotion_reason_text"] = reason_text(promotions["promotion_reason"], policy,
                                                      language)
    return LimitDecisions(customers, promotions, target.shadow_price)


def reason_text(codes: pd.Series, policy: LimitPolicy, language: str) -> pd.Series:
    if language not in LANGUAGES:
        raise ConfigError(f"language must be one of {list(LANGUAGES)}; got {language!r}")
    return codes.map({code: texts[language] for code, texts in policy.reason_texts.items()})
