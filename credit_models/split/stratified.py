"""Random split by customer, stratified by outcome: for data without a time axis (one application
snapshot per customer, such as the German credit data), where out-of-time testing is impossible."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from credit_models.errors import ConfigError, TrainingDataError
from credit_models.split.customer_groups import check_shares, customer_uniforms
from credit_models.split.names import CALIBRATION, DEVELOPMENT, TEST, VALIDATION

Fold = tuple[np.ndarray, np.ndarray]


def _default_shares() -> dict[str, float]:
    return {DEVELOPMENT: 0.5, VALIDATION: 0.1, CALIBRATION: 0.1, TEST: 0.3}


@dataclass(frozen=True)
class StratifiedCustomerSplit:
    """Customers drawn into dev / valid / calibration / test with ``customer_shares``, separately
    among customers with and without a bad outcome so that every split keeps the bad rate."""

    customer_shares: dict[str, float] = field(default_factory=_default_shares)
    cv_folds: int = 5
    """Stratified customer-grouped K-fold over all rows (0 = none): the estimate of how the
    modelling procedure performs, independent of one lucky or unlucky hold-out draw."""
    cv_repeats: int = 1
    """The K-fold repeated with this many different shuffles, all folds averaged: on small data
    one shuffle's mean AUC moves by about a point from draw to draw (German credit, 1,000 rows:
    fold AUC standard deviation 0.02-0.03), repeating narrows that."""
    seed: int = 7

    evaluation_split = TEST
    cv_includes_test = True
    """Its folds run over every row, the test split's included: an estimate to report, never a
    target to choose by."""

    def __post_init__(self) -> None:
        check_shares(self.customer_shares, (DEVELOPMENT, VALIDATION, CALIBRATION, TEST),
                     "split.customer_shares")
        if self.cv_folds < 0 or self.cv_folds == 1:
            raise ConfigError(f"split.cv_folds must be 0 (none) or >= 2; got {self.cv_folds}")
        if self.cv_repeats < 1:
            raise ConfigError(f"split.cv_repeats must be >= 1; got {self.cv_repeats}")

    @property
    def periods(self) -> tuple[str, ...]:
        return (DEVELOPMENT, VALIDATION, CALIBRATION, TEST)

    def assign(self, rows: pd.DataFrame) -> pd.Series:
        """Rows (customer_id, is_bad) → split; a customer with any bad row counts as bad."""
        customer_bad = rows.groupby("customer_id")["is_bad"].max()
        names = list(self.customer_shares)
        edges = np.cumsum([self.customer_shares[name] for name in names])
        edges[-1] = 1.0
        group = pd.Series(index=customer_bad.index, dtype="str")
        for outcome in (False, True):
            ids = customer_bad.index[customer_bad.to_numpy() == outcome]
            if len(ids) == 0:
                continue
            order = np.argsort(customer_uniforms(pd.Series(ids), self.seed), kind="stable")
            # Evenly spaced positions within each outcome class: exact shares, stratified.
            position = np.empty(len(ids))
            position[order] = (np.arange(len(ids)) + 0.5) / len(ids)
            slot = np.minimum(np.searchsorted(edges, position, side="right"), len(names) - 1)
            group[ids] = np.asarray(names, dtype=object)[slot]
        return rows["customer_id"].map(group).astype("str")

    def folds(self, rows: pd.DataFrame, split: pd.Series) -> list[Fold]:
        if not self.cv_folds:
            return []
        customer_bad = rows.groupby("customer_id")["is_bad"].transform("max").astype(int)
        if customer_bad.sum() < self.cv_folds:
            raise TrainingDataError(
                f"{self.cv_folds}-fold CV needs at least {self.cv_folds} bad customers; got "
                f"{int(customer_bad.sum())}"
            )
        return [
            (rows.index[train].to_numpy(), rows.index[held].to_numpy())
            for repeat in range(self.cv_repeats)
            for train, held in StratifiedGroupKFold(
                n_splits=self.cv_folds, shuffle=True, random_state=self.seed + repeat,
            ).split(rows, customer_bad, groups=rows["customer_id"])
        ]
