"""The account facts a limit decision needs (current limit, balance, time since the last
delinquency and the last raise), read from point-in-time features.

Reading them from the feature vector, not from the raw tables, lets the served model decide a
limit from exactly the inputs it is given, and keeps the backtest's facts as point-in-time as the
features are. Which feature carries which fact is configuration (``limits.account``), so a data
set with other feature names maps its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from credit_models.errors import ConfigError

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class AccountFeatures:
    current_limit: str
    """Limit in force at the snapshot; missing = no line yet."""
    balance: str
    """Outstanding balance (the latest statement's); missing = none."""
    days_since_delinquency: str
    """Days since the last missed due date; missing = never."""
    days_past_due_now: str
    """Days past due at the snapshot; > 0 = delinquent now."""
    days_since_raise: str
    """Days since the last permanent raise; missing = never."""

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> AccountFeatures:
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        missing = sorted(set(cls.__dataclass_fields__) - set(raw))
        if unknown or missing:
            raise ConfigError(f"limits.account needs exactly {sorted(cls.__dataclass_fields__)};"
                              f" missing {missing}, unknown {unknown}")
        return cls(**{key: str(value) for key, value in raw.items()})

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
