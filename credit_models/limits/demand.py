"""A customer's peak monthly demand as a lognormal fitted to two capacity quantiles.

The capacity model predicts quantiles, the policy needs expectations: how much of a limit L a
customer would use (E[min(D, L)]) and how likely their demand outgrows it (P(D > L), the chance of
an order declined for insufficient limit). Two quantiles fix a lognormal, whose limited expectation
has a closed form, so every candidate limit of every customer is evaluated without sampling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

MIN_DEMAND = 1.0
"""Quantiles are floored here (one currency unit): a zero quantile has no logarithm."""
MIN_SIGMA = 0.05


@dataclass(frozen=True)
class DemandDistribution:
    log_median: np.ndarray
    log_sigma: np.ndarray

    @classmethod
    def from_quantiles(cls, low: np.ndarray, high: np.ndarray, low_level: float,
                       high_level: float) -> DemandDistribution:
        """``low`` and ``high`` are the predicted quantiles at ``low_level`` < ``high_level``."""
        z_low, z_high = norm.ppf(low_level), norm.ppf(high_level)
        log_low = np.log(np.maximum(np.asarray(low, dtype=float), MIN_DEMAND))
        log_high = np.log(np.maximum(np.asarray(high, dtype=float), MIN_DEMAND))
        sigma = np.maximum((log_high - log_low) / (z_high - z_low), MIN_SIGMA)
        return cls(log_median=log_low - z_low * sigma, log_sigma=sigma)

    def _standardised(self, limits: np.ndarray) -> np.ndarray:
        limits = np.asarray(limits, dtype=float)
        with np.errstate(divide="ignore"):
            log_limit = np.log(limits)
        return (log_limit - self._column(self.log_median, limits)) / self._column(self.log_sigma,
                                                                                  limits)

    @staticmethod
    def _column(values: np.ndarray, limits: np.ndarray) -> np.ndarray:
        """Per-customer parameters broadcast against a (customers,) or (customers, grid) array."""
        return values if limits.ndim == 1 else values[:, None]

    def expected_use(self, limits: np.ndarray, balance: np.ndarray | None = None) -> np.ndarray:
        """min(B, L) + E[min(D, L − B)]: the balance a limit L carries on average when the
        balance B already on it stays and the peak month's demand D comes on top."""
        limits = np.asarray(limits, dtype=float)
        carried = self._carried(limits, balance)
        room = np.maximum(limits - carried, 0.0)
        mu, sigma = self._column(self.log_median, room), self._column(self.log_sigma, room)
        z = self._standardised(room)
        used_below = np.exp(mu + sigma**2 / 2) * norm.cdf(z - sigma)
        return carried + np.where(room > 0, used_below + room * norm.sf(z), 0.0)

    def shortfall_probability(self, limits: np.ndarray,
                              balance: np.ndarray | None = None) -> np.ndarray:
        """P(D > L − B): how likely the peak month's demand does not fit the room left."""
        limits = np.asarray(limits, dtype=float)
        room = np.maximum(limits - self._carried(limits, balance), 0.0)
        return norm.sf(self._standardised(room))

    def _carried(self, limits: np.ndarray, balance: np.ndarray | None) -> np.ndarray:
        if balance is None:
            return np.zeros_like(limits)
        return np.minimum(self._column(np.asarray(balance, dtype=float), limits), limits)
