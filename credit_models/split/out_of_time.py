"""Out-of-time split by snapshot date: develop on the past, stop early on the recent past,
calibrate on the period after it, test on the latest. A random split overstates performance in
credit; time is the default axis. Customers are grouped too (see :mod:`customer_groups`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_models.errors import ConfigError, TrainingDataError
from credit_models.split.customer_groups import customer_uniforms
from credit_models.split.names import CALIBRATION, DEVELOPMENT, OUT_OF_TIME, UNUSED, VALIDATION

Fold = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class OutOfTimeSplit:
    """Periods, latest last: development | ``valid_months`` | ``calibration_months`` |
    ``oot_months``, counted in distinct snapshot dates.

    With ``group_customers`` a share ``holdout_share`` of customers is drawn as held out: only
    their rows in the validation, calibration and OOT periods are used, and only the other
    customers' development rows, so the model is never fitted on a customer it is stopped,
    calibrated or tested on. The rest (a held-out customer's development rows, a development
    customer's later rows) is kept as ``unused``, counted and logged.
    """

    valid_months: int = 2
    calibration_months: int = 2
    oot_months: int = 3
    group_customers: bool = True
    holdout_share: float = 0.3
    cv_folds: int = 0
    """Grouped time-series cross-validation folds on the development period (0 = none)."""
    seed: int = 7

    evaluation_split = OUT_OF_TIME

    def __post_init__(self) -> None:
        for name in ("valid_months", "oot_months"):
            if getattr(self, name) < 1:
                raise ConfigError(f"split.{name} must be >= 1; got {getattr(self, name)}")
        if self.calibration_months < 0:
            raise ConfigError(
                f"split.calibration_months must be >= 0; got {self.calibration_months}"
            )
        if self.cv_folds < 0 or self.cv_folds == 1:
            raise ConfigError(f"split.cv_folds must be 0 (none) or >= 2; got {self.cv_folds}")
        if not 0 < self.holdout_share < 1:
            raise ConfigError(f"split.holdout_share must be in (0, 1); got {self.holdout_share}")

    @property
    def periods(self) -> tuple[str, ...]:
        middle = (CALIBRATION,) if self.calibration_months else ()
        return (DEVELOPMENT, VALIDATION, *middle, OUT_OF_TIME)

    def assign(self, rows: pd.DataFrame) -> pd.Series:
        """The split of every row (columns customer_id, as_of), from the distinct snapshot dates."""
        dates = sorted(rows["as_of"].unique())
        lengths = {VALIDATION: self.valid_months, CALIBRATION: self.calibration_months,
                   OUT_OF_TIME: self.oot_months}
        needed = sum(lengths.values()) + 1
        if len(dates) < needed:
            raise TrainingDataError(
                f"an out-of-time split with {self.valid_months} validation, "
                f"{self.calibration_months} calibration and {self.oot_months} OOT snapshot months "
                f"needs at least {needed} labelled snapshot dates; got {len(dates)} "
                f"({', '.join(str(pd.Timestamp(d).date()) for d in dates)})"
            )
        period = pd.Series(DEVELOPMENT, index=rows.index, dtype="str")
        end = len(dates)
        for name in (OUT_OF_TIME, CALIBRATION, VALIDATION):
            if lengths[name]:
                start = end - lengths[name]
                period[(rows["as_of"] >= dates[start]) & (rows["as_of"] < _after(dates, end))] = name
                end = start
        if not self.group_customers:
            return period
        held_out = customer_uniforms(rows["customer_id"], self.seed) < self.holdout_share
        keep = np.where(period.to_numpy() == DEVELOPMENT, ~held_out, held_out)
        return period.where(keep, UNUSED)

    def folds(self, rows: pd.DataFrame, split: pd.Series) -> list[Fold]:
        """Grouped time-series folds inside the development period: fold k evaluates one of the
        last ``cv_folds`` development months on a customer group, training on the earlier months
        of the other customers, so no fold sees its own future or its own customers."""
        if not self.cv_folds:
            return []
        development = rows[split == DEVELOPMENT]
        dates = sorted(development["as_of"].unique())
        if len(dates) < self.cv_folds + 1:
            raise TrainingDataError(
                f"time-series CV with {self.cv_folds} folds needs at least {self.cv_folds + 1} "
                f"development snapshot dates; got {len(dates)}"
            )
        group = np.floor(
            customer_uniforms(development["customer_id"], self.seed + 1) * self.cv_folds
        ).astype(int)
        folds = []
        for fold, evaluated in enumerate(dates[-self.cv_folds:]):
            in_group = group == fold
            train = development.index[(development["as_of"] < evaluated).to_numpy() & ~in_group]
            held = development.index[(development["as_of"] == evaluated).to_numpy() & in_group]
            folds.append((np.asarray(train), np.asarray(held)))
        return folds


def _after(dates: list, end: int) -> pd.Timestamp:
    """The first date after the period ending before position ``end`` (open upper bound)."""
    return dates[end] if end < len(dates) else pd.Timestamp.max.tz_localize("UTC")
