"""``conf/split/*.yaml`` as one typed value, and the splitter it configures, built (and so
checked) when the job's settings are, before any data are read."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum

from credit_models.errors import ConfigError, enum_choice
from credit_models.split.out_of_time import Holdout, OutOfTimeSplit
from credit_models.split.stratified import StratifiedCustomerSplit

Splitter = OutOfTimeSplit | StratifiedCustomerSplit


class SplitKind(str, Enum):
    out_of_time = "out_of_time"
    stratified = "stratified"


SPLITTERS: dict[SplitKind, type] = {
    SplitKind.out_of_time: OutOfTimeSplit,
    SplitKind.stratified: StratifiedCustomerSplit,
}


@dataclass(frozen=True)
class SplitSettings:
    """Fields a kind does not use stay null; a null field takes the splitter's default (for
    out_of_time, the default of its ``holdout`` mode: see conf/split/out_of_time.yaml)."""

    kind: SplitKind = SplitKind.out_of_time
    holdout: Holdout | None = None
    """How validation/calibration rows are held out before the OOT period: by customer
    (``customers``, the default) or as the last snapshot months (``months``) (out_of_time)."""
    valid_months: int | None = None
    """Months mode: snapshot months for early stopping, just before the calibration period."""
    calibration_months: int | None = None
    """Months mode: snapshot months for calibration, just before the OOT period (0 = none)."""
    valid_share: float | None = None
    """Customers mode: share of customers whose pre-OOT rows are for early stopping."""
    calibration_share: float | None = None
    """Customers mode: share of customers whose pre-OOT rows are for calibration (0 = none)."""
    oot_months: int | None = None
    """The latest labelled snapshot months: the out-of-time test period (not with oot_start)."""
    oot_start: str | None = None
    """ISO date: the out-of-time period is every row with as_of >= it (out_of_time)."""
    group_customers: bool | str | None = None
    """``auto``, true or false: never judge the model on a customer it was fitted on
    (out_of_time)."""
    holdout_share: float | None = None
    """Months mode with grouping: share of customers held out from fitting (out_of_time)."""
    customer_shares: dict[str, float] | None = None
    """Share of customers in each split (stratified)."""
    cv_folds: int | None = None
    cv_repeats: int | None = None
    """Repeated K-fold with other shuffles (stratified)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", enum_choice(SplitKind, self.kind, "split.kind"))
        allowed = set(SPLITTERS[self.kind].__dataclass_fields__) - {"seed"}
        unknown = sorted(name for name in self.values() if name not in allowed)
        if unknown:
            raise ConfigError(
                f"split.kind={self.kind.value} does not take {unknown} (set them to null); it "
                f"takes {sorted(allowed)}"
            )

    def values(self) -> dict[str, object]:
        """The fields set (not null), but the kind."""
        return {item.name: getattr(self, item.name) for item in fields(self)
                if item.name != "kind" and getattr(self, item.name) is not None}

    def build(self, seed: int) -> Splitter:
        """The configured splitter (its own checks run here)."""
        return SPLITTERS[self.kind](**self.values(), seed=seed)
