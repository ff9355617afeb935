"""The account facts a limit decision needs (current limit, balance, time since the last
delinquency and the last raise), read from point-in-time features.

Reading them from the feature vector, not from the raw tables, lets the served model decide a
limit from exactly the inputs it is given, and keeps the backtest's facts as point-in-time as the
features are. Which feature carries which fact is configuration (``limits.account``), so a data
set with other feature names maps its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from credit_models.errors import ConfigError

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class AccountFeatures:
    """``limits.account``: which feature of the default feature spec carries each account fact
    the policy needs (a data set with other features names its own)."""

    current_limit: str = "limit_changes__new_limit__last"
    """Limit in force at the snapshot; missing = no line yet."""
    balance: str = "statements__amount_due__last"
    """Outstanding balance (the latest statement's); missing = none."""
    days_since_delinquency: str = "due_outcomes_missed__bill__days_since_last"
    """Days since the last missed due date; missing = never."""
    days_past_due_now: str = "delinquency__days_past_due__current"
    """Days past due at the snapshot; > 0 = delinquent now."""
    days_since_raise: str = "limit_changes_raise__change__days_since_last"
    """Days since the last permanent raise; missing = never."""

    def __post_init__(self) -> None:
        for fact, name in asdict(self).items():
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"limits.account.{fact} must name a feature; got {name!r}")

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(asdict(self).values()))


def account_facts(features: pd.DataFrame, mapping: AccountFeatures) -> pd.DataFrame:
    """current_limit, balance, months_since_delinquency, months_since_raise per row."""
    absent = [name for name in mapping.names if name not in features.columns]
    if absent:
        raise ConfigError(f"limits.account names feature(s) the feature matrix lacks: {absent}; "
                          "map each fact to a feature of the feature spec")

    def column(name: str) -> pd.Series:
        return pd.to_numeric(features[name], errors="raise").astype("float64")

    since_delinquency = column(mapping.days_since_delinquency) / DAYS_PER_MONTH
    delinquent_now = column(mapping.days_past_due_now).fillna(0.0) > 0
    return pd.DataFrame({
        "current_limit": column(mapping.current_limit).fillna(0.0).clip(lower=0.0),
        "balance": column(mapping.balance).fillna(0.0).clip(lower=0.0),
        "months_since_delinquency": since_delinquency.mask(delinquent_now, 0.0),
        "months_since_raise": column(mapping.days_since_raise) / DAYS_PER_MONTH,
    }, index=features.index).astype({"months_since_delinquency": "float64"}).replace(
        {np.inf: np.nan})
