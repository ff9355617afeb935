"""The shipped policy config and a random portfolio in the policy's input shape."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from credit_models.paths import config_dir

LEVELS = (0.5, 0.9)


@pytest.fixture(scope="session")
def policy_config() -> dict[str, Any]:
    return yaml.safe_load((config_dir() / "policy" / "default.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def raw_policy(policy_config: dict[str, Any]) -> dict[str, Any]:
    """A copy a test may change."""
    return copy.deepcopy(policy_config)


def random_portfolio(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    median = np.exp(rng.normal(7.5, 0.8, n))
    current = np.where(rng.random(n) < 0.1, 0.0, np.round(median * rng.uniform(0.5, 4, n), -2))
    return pd.DataFrame({
        "pd": np.clip(rng.lognormal(-3.5, 1.0, n), 0.0, 1.0),
        "capacity_q50": median,
        "capacity_q90": median * np.exp(rng.uniform(0.2, 1.2, n)),
        "current_limit": current,
        "balance": current * rng.uniform(0, 1, n),
        "months_since_delinquency": np.where(rng.random(n) < 0.2, rng.integers(0, 12, n), np.nan),
        "months_since_raise": np.where(rng.random(n) < 0.3, rng.integers(0, 12, n), np.nan),
    }, index=pd.Index(np.arange(n) + 1, name="customer_id"))
