"""A portfolio described before any model: order volume by month, vintage curves and roll rates.

``credit-models-data describe`` runs it on a data set and writes the aggregates (never a customer's
row) as CSV files and figures; ``notebooks/01_quickstart.ipynb`` draws the same from Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from credit_models.errors import ConfigError
from credit_models.features.snapshots import month_starts
from credit_models.labels.vintage import (
    COHORTS,
    RollRates,
    bucket_labels,
    roll_rates,
    vintage_curves,
)


@dataclass
class PortfolioDescriptionSettings:
    """What ``credit-models-data describe`` measures (``describe.*`` in conf/data_job.yaml)."""

    output: str = "outputs/portfolio"
    """The folder written: absent, empty, or one this command wrote before (then replaced)."""
    bad_days_past_due: int = 30
    """A vintage's account is bad from the day it first reaches this many days past due."""
    max_months_on_book: int = 24
    cohort_by: str = "month"
    """month | quarter: quarters give fewer, larger cohorts for a small portfolio."""
    bucket_edges: list[int] = field(default_factory=lambda: [1, 30, 60, 90])
    """Days past due where the roll-rate buckets start: current, 1-29, 30-59, 60-89, 90+."""

    def __post_init__(self) -> None:
        if self.cohort_by not in COHORTS:
            raise ConfigError(f"describe.cohort_by must be one of {sorted(COHORTS)}, "
                              f"got {self.cohort_by!r}")
        if self.bad_days_past_due < 1 or self.max_months_on_book < 1:
            raise ConfigError("describe.bad_days_past_due and describe.max_months_on_book must be "
                              f"at least 1 (got {self.bad_days_past_due}, "
                              f"{self.max_months_on_book})")
        bucket_labels(self.bucket_edges)


@dataclass(frozen=True)
class PortfolioDescription:
    """The aggregates a credit team reads first: no row belongs to one customer."""

    monthly_volume: pd.DataFrame
    """Orders and order amount per calendar month."""
    vintage_curves: pd.DataFrame
    roll_rates: RollRates
    first_month: pd.Timestamp
    """The first month start of the roll rates (the first one with a bill due before it)."""
    last_month: pd.Timestamp

    def summary(self) -> str:
        cohorts = self.vintage_curves["cohort"].nunique()
        forward = ", ".join(f"{bucket} {share:.1%}"
                            for bucket, share in self.roll_rates.roll_forward.items())
        return (f"{len(self.monthly_volume)} months of orders; {cohorts} vintages; roll rates "
                f"from {self.first_month:%Y-%m} to {self.last_month:%Y-%m} "
                f"({self.roll_rates.transitions} transitions); roll forward: {forward}")


def describe_portfolio(tables: Mapping[str, pd.DataFrame], extraction: pd.Timestamp,
                       settings: PortfolioDescriptionSettings) -> PortfolioDescription:
    """Volume, vintage curves and roll rates of the contract ``tables`` extracted at
    ``extraction``; each month start sees only the events before it."""
    bills = tables["bills"]
    if bills.empty:
        raise ConfigError("the data set has no bills: vintage curves and roll rates need "
                          "statements and repayments (application-only data sets have none)")
    orders = tables["orders"]
    monthly = (orders.set_index("ordered_at")["amount"].resample("MS").agg(["size", "sum"])
               .rename(columns={"size": "orders", "sum": "amount"}))
    monthly.index = monthly.index.strftime("%Y-%m")
    first = (bills["due_date"].min() + pd.offsets.MonthBegin(1)).normalize()
    last = pd.Timestamp(extraction).normalize().replace(day=1)
    if first >= last:
        raise ConfigError(f"roll rates need two month starts after the first due date "
                          f"({bills['due_date'].min():%Y-%m-%d}) and before the extraction "
                          f"({pd.Timestamp(extraction):%Y-%m-%d})")
    return PortfolioDescription(
        monthly_volume=monthly.rename_axis("month").reset_index(),
        vintage_curves=vintage_curves(
            tables["customers"], bills, tables["repayments"], extraction,
            bad_days_past_due=settings.bad_days_past_due,
            max_months_on_book=settings.max_months_on_book, cohort_by=settings.cohort_by),
        roll_rates=roll_rates(bills, tables["repayments"], month_starts(first, last),
                              bucket_edges=settings.bucket_edges),
        first_month=first, last_month=last,
    )
