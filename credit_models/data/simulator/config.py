"""The simulator's settings: one plain dataclass of primitives, so Hydra can use it as a
structured config and a data set's manifest can record it verbatim."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from credit_models.errors import ConfigError
from credit_models.timestamps import utc_timestamp

RANDOM_BLOCK_SIZE = 500
"""Customers are seeded in fixed blocks of this many (block ``b`` draws from
``SeedSequence(seed, spawn_key=(b,))``), so the output does not depend on how the customers are
split into chunks. ``chunk_size`` must therefore be a multiple of it."""

STATEMENT_DAY = 1
"""Every bill is issued at 00:00 UTC on this day of the month."""
DUE_DAY = 20
"""...and is due at 00:00 UTC on this day of the same month."""

MINIMUM_MONTHS = 24
MAXIMUM_MONTHS = 600


@dataclass
class SimulatorConfig:
    """Everything that shapes a simulated portfolio; the same values and seed give the same data."""

    n_customers: int = 20_000
    seed: int = 7
    start_date: str = "2023-01-01"
    """First day of the first simulated month (a month start)."""
    months: int = 30
    """Length of the history; the extraction date is ``start_date`` + ``months``."""
    chunk_size: int = 50_000
    """Customers simulated together when writing to a folder (memory is bounded by it); a multiple
    of 500 (the size of a seeding block)."""

    # Population
    launch_cohort_share: float = 0.40
    """Share of customers who join in the launch week (they exist at the start of the history)."""
    thin_file_share: float = 0.25
    thin_file_risk_shift: float = 0.35
    """Added to a thin-file customer's latent risk (thick-file risk is standard normal): limited
    files concentrate among the young and lower-income (CFPB 2015, "Credit Invisibles")."""
    thin_file_risk_spread: float = 1.3
    """Standard deviation of a thin-file customer's latent risk: less is known, so they differ
    more (the uncertainty lenders price into thin files)."""
    bureau_coverage: float = 0.9
    """Share of thick-file customers with an external bureau score (``attr_bureau_score``);
    thin-file customers never have one. About 87.5 % of US adults had a scored record in 2020
    (CFPB 2025 update of "Credit Invisibles")."""
    bust_out_share: float = 0.01
    median_monthly_income: float = 8_000.0

    # Macro downturn
    downturn_start: str = "2024-09-01"
    downturn_end: str = "2025-02-28"
    downturn_severity: float = 1.0
    """0 disables the downturn; 1 is the calibrated default; larger is harsher."""

    # Latent income-shock chain
    shock_onset_probability: float = 0.02
    shock_onset_probability_downturn_extra: float = 0.06
    """Added to the monthly shock onset probability in downturn months, times the severity."""
    shock_recovery_probability: float = 0.25

    # Latent distress chain: onset = sigmoid(intercept + risk*b + shock*c + macro*d)
    distress_intercept: float = -4.85
    distress_risk_coefficient: float = 1.05
    distress_shock_coefficient: float = 1.4
    distress_macro_coefficient: float = 0.6
    # recovery = sigmoid(intercept + risk*b + shock*c)
    recovery_intercept: float = 0.2
    recovery_risk_coefficient: float = -0.6
    recovery_shock_coefficient: float = -1.0

    # Billing
    monthly_interest_rate: float = 0.015
    minimum_payment_share: float = 0.10
    instalment_fee_rate: float = 0.006
    """Monthly fee of an instalment plan, as a share of its principal, billed with each part."""

    # Limit policy
    limit_floor: float = 500.0
    limit_ceiling: float = 50_000.0
    periodic_raise_max_step: float = 5_000.0
    promotion_raise_share: float = 0.3
    """Temporary promotion raise as a share of the limit (plus up to 20 points at random)."""

    # Seasonality
    promotion_order_uplift: float = 1.0
    """Extra order intensity on promotion days (618, Double 11) before the peak day's spike."""
    promotion_basket_uplift: float = 0.25

    # Spending response to the credit line
    limit_spending_elasticity: float = 0.3
    """Elasticity of basket amounts to the credit line (relative to the first grant) for the most
    liquidity-hungry customers; weighted down for safer, richer ones and 0 disables it. Debt rises
    by 10-14 % of a limit increase on average (Gross & Souleles 2002), 59 % for FICO <= 660 and
    about 0 above 740 (Agarwal, Chomsisengphet, Mahoney & Stroebel 2018)."""

    oracle_as_of: list[str] = field(default_factory=list)
    """Month starts for which the true default probability (30+ DPD in 6 months) is written to
    ``truth/``; empty = the automatic choice (see :meth:`resolved_oracle_as_of`)."""

    @property
    def start(self) -> pd.Timestamp:
        return utc_timestamp(self.start_date)

    @property
    def extraction_date(self) -> pd.Timestamp:
        """The first instant after the history: no event is at or after it."""
        return self.start + pd.DateOffset(months=self.months)

    def resolved_oracle_as_of(self) -> list[pd.Timestamp]:
        """The configured oracle dates, or by default the month starts 12, 9 and 6 months before
        the extraction date: the last year's snapshots whose 6-month window is complete."""
        if self.oracle_as_of:
            return [utc_timestamp(value) for value in self.oracle_as_of]
        return [self.extraction_date - pd.DateOffset(months=back) for back in (12, 9, 6)]

    def validate(self) -> SimulatorConfig:
        """Raise :class:`ConfigError` naming the key, the rule and the value of the first broken
        rule; return self so calls can be chained."""
        _at_least("n_customers", self.n_customers, 1)
        _at_least("seed", self.seed, 0)
        _at_least("months", self.months, MINIMUM_MONTHS)
        if self.months > MAXIMUM_MONTHS:
            raise ConfigError(f"months must be <= {MAXIMUM_MONTHS}; got {self.months}")
        _at_least("chunk_size", self.chunk_size, RANDOM_BLOCK_SIZE)
        if self.chunk_size % RANDOM_BLOCK_SIZE:
            raise ConfigError(
                f"chunk_size must be a multiple of {RANDOM_BLOCK_SIZE} (the seeding block); "
                f"got {self.chunk_size}"
            )
        start = _date("start_date", self.start_date)
        if start != start.normalize() or start.day != 1:
            raise ConfigError(
                f"start_date must be the first day of a month at 00:00; got {self.start_date!r}"
            )
        for key in ("launch_cohort_share", "thin_file_share"):
            _between(key, getattr(self, key), 0.0, 1.0)
        _between("bust_out_share", self.bust_out_share, 0.0, 0.5)
        _between("thin_file_risk_shift", self.thin_file_risk_shift, -3.0, 3.0)
        _between("thin_file_risk_spread", self.thin_file_risk_spread, 0.1, 5.0)
        _between("bureau_coverage", self.bureau_coverage, 0.0, 1.0)
        _positive("median_monthly_income", self.median_monthly_income)
        downturn_start = _date("downturn_start", self.downturn_start)
        downturn_end = _date("downturn_end", self.downturn_end)
        if downturn_end < downturn_start:
            raise ConfigError(
                f"downturn_end must not be before downturn_start ({self.downturn_start}); "
                f"got {self.downturn_end!r}"
            )
        _at_least("downturn_severity", self.downturn_severity, 0.0)
        for key in (
            "shock_onset_probability",
            "shock_onset_probability_downturn_extra",
            "shock_recovery_probability",
        ):
            _between(key, getattr(self, key), 0.0, 1.0)
        _between("monthly_interest_rate", self.monthly_interest_rate, 0.0, 0.1)
        _between("minimum_payment_share", self.minimum_payment_share, 0.01, 1.0)
        _between("instalment_fee_rate", self.instalment_fee_rate, 0.0, 0.05)
        _positive("limit_floor", self.limit_floor)
        if self.limit_ceiling < self.limit_floor:
            raise ConfigError(
                f"limit_ceiling must be >= limit_floor ({self.limit_floor:g}); "
                f"got {self.limit_ceiling:g}"
            )
        _at_least("periodic_raise_max_step", self.periodic_raise_max_step, 0.0)
        _between("promotion_raise_share", self.promotion_raise_share, 0.0, 2.0)
        _at_least("promotion_order_uplift", self.promotion_order_uplift, 0.0)
        _at_least("promotion_basket_uplift", self.promotion_basket_uplift, 0.0)
        _between("limit_spending_elasticity", self.limit_spending_elasticity, 0.0, 2.0)
        extraction = self.extraction_date
        for value in self.oracle_as_of:
            as_of = _date("oracle_as_of", value)
            if as_of != as_of.normalize() or as_of.day != 1 or not start < as_of <= extraction:
                raise ConfigError(
                    "oracle_as_of must hold month starts after start_date and not after the "
                    f"extraction date {extraction.date()}; got {value!r}"
                )
        return self


def _at_least(key: str, value: float, minimum: float) -> None:
    if value < minimum:
        raise ConfigError(f"{key} must be >= {minimum:g}; got {value}")


def _positive(key: str, value: float) -> None:
    if not value > 0:
        raise ConfigError(f"{key} must be > 0; got {value}")


def _between(key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{key} must be in [{low:g}, {high:g}]; got {value}")


def _date(key: str, value: str) -> pd.Timestamp:
    try:
        return utc_timestamp(value)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{key} must be an ISO date (YYYY-MM-DD); got {value!r}") from error
