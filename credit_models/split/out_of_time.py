"""Out-of-time split by snapshot date: develop on the past, tune on the recent past, test on the
latest periods. A random split overstates performance in credit; time is the default axis."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from credit_models.errors import ConfigError, TrainingDataError

DEVELOPMENT, VALIDATION, OUT_OF_TIME = "dev", "valid", "oot"
SPLITS = (DEVELOPMENT, VALIDATION, OUT_OF_TIME)


@dataclass(frozen=True)
class OutOfTimeSplit:
    valid_months: int = 2
    oot_months: int = 3

    def __post_init__(self) -> None:
        for name in ("valid_months", "oot_months"):
            value = getattr(self, name)
            if value < 1:
                raise ConfigError(f"split.{name} must be >= 1; got {value}")

    def assign(self, as_of: pd.Series) -> pd.Series:
        """The split of every row, from the distinct snapshot dates present."""
        dates = sorted(as_of.unique())
        needed = self.valid_months + self.oot_months + 1
        if len(dates) < needed:
            raise TrainingDataError(
                f"an out-of-time split with {self.valid_months} validation and {self.oot_months} "
                f"OOT snapshot months needs at least {needed} labelled snapshot dates; got "
                f"{len(dates)} ({', '.join(str(pd.Timestamp(d).date()) for d in dates)})"
            )
        oot_start = dates[-self.oot_months]
        valid_start = dates[-(self.oot_months + self.valid_months)]
        split = pd.Series(DEVELOPMENT, index=as_of.index, dtype="str")
        split[as_of >= valid_start] = VALIDATION
        split[as_of >= oot_start] = OUT_OF_TIME
        return split
