"""Customer grouping: a customer is on one side of a split only, so that no customer the model
was fitted on is also used to judge it (a customer seen in development and again in the test period flatters the
model: their own history is partly their label)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from credit_models.errors import ConfigError

SHARE_TOLERANCE = 1e-9


def check_shares(shares: Mapping[str, float], expected: tuple[str, ...], key: str) -> None:
    """Shares must name exactly the expected splits, each in (0, 1], and sum to 1."""
    names = set(shares)
    if names != set(expected):
        raise ConfigError(
            f"{key} must give a share for each of {list(expected)}; got {sorted(names)}"
        )
    bad = {name: value for name, value in shares.items() if not 0 < value <= 1}
    if bad:
        raise ConfigError(f"{key}: every share must be in (0, 1]; got {bad}")
    total = sum(shares.values())
    if abs(total - 1) > SHARE_TOLERANCE:
        raise ConfigError(f"{key}: shares must sum to 1; got {total:.6g} ({dict(shares)})")


def customer_uniforms(customer_id: pd.Series, seed: int) -> np.ndarray:
    """A stable pseudo-random number in [0, 1) per customer, from a keyed hash of the id: the
    same customer gets the same number whatever else is in the data (adding customers does not
    reshuffle the others) and whatever the row order."""
    hashed = pd.util.hash_pandas_object(customer_id.reset_index(drop=True), index=False)
    return _uniform(_splitmix64(hashed.to_numpy(dtype=np.uint64) ^ _splitmix64(
        np.array([seed], dtype=np.uint64)
    )))


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a cheap, well-mixed bijection on 64-bit integers."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _uniform(bits: np.ndarray) -> np.ndarray:
    return (bits >> np.uint64(11)).astype(np.float64) / float(1 << 53)
