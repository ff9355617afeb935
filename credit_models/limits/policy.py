"""The limit policy's settings (``conf/policy/*.yaml``), checked as a whole before any data are read.

A bad policy is a business risk, not a typo: overlapping or gapped bands silently give two limits to
one customer or none, a floor above the ceiling has no valid limit, a negative multiplier a negative
limit. Each is refused here with the key, the rule and the value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import pairwise
from typing import Any

from credit_models.errors import ConfigError


class TargetMethod(str, Enum):
    """How the target (permanent) limit is set."""

    tiers = "tiers"
    """分级授信: a PD band × capacity band matrix of multipliers of capacity."""
    optimum = "optimum"
    """Risk-based: the grid limit of highest expected profit within a portfolio EL budget."""


@dataclass(frozen=True)
class Band:
    name: str
    lower: float
    upper: float

    def describe(self) -> str:
        return f"{self.name} [{self.lower:g}, {self.upper:g})"


def parse_bands(raw: Mapping[str, Sequence[float]], key: str, lowest: float,
                highest: float) -> tuple[Band, ...]:
    """Bands as ``name: [lower, upper)``; sorted by lower bound, they must tile [lowest, highest)
    with neither overlap nor gap, so every value falls in exactly one band."""
    if not raw:
        raise ConfigError(f"{key} needs at least one band; got none")
    bands = []
    for name, bounds in raw.items():
        values = list(bounds) if isinstance(bounds, Sequence) and not isinstance(bounds, str) \
            else None
        if values is None or len(values) != 2:
            raise ConfigError(f"{key}.{name} must be [lower, upper]; got {bounds!r}")
        lower, upper = (float(value) for value in values)
        if not lower < upper:
            raise ConfigError(f"{key}.{name}: lower bound {lower:g} must be below upper {upper:g}")
        bands.append(Band(str(name), lower, upper))
    bands.sort(key=lambda band: band.lower)
    if bands[0].lower != lowest or bands[-1].upper != highest:
        raise ConfigError(
            f"{key} must cover [{lowest:g}, {highest:g}); they cover "
            f"[{bands[0].lower:g}, {bands[-1].upper:g})"
        )
    for before, after in pairwise(bands):
        if after.lower < before.upper:
            raise ConfigError(f"{key} overlap: {before.describe()} and {after.describe()}")
        if after.lower > before.upper:
            raise ConfigError(f"{key} leave a gap: {before.describe()} then {after.describe()}")
    return tuple(bands)


@dataclass(frozen=True)
class TierSettings:
    basis: str
    """The capacity column the multipliers apply to, e.g. ``capacity_q90``."""
    pd_bands: tuple[Band, ...]
    capacity_bands: tuple[Band, ...]
    multipliers: tuple[tuple[float, ...], ...]
    """Per PD band (in band order), one multiplier per capacity band; 0 grants no line."""

    @classmethod
    def from_config(cls, raw: Mapping[str, Any], quantile_columns: Sequence[str]) -> TierSettings:
        basis = str(raw["basis"])
        if basis not in quantile_columns:
            raise ConfigError(f"policy.tiers.basis must be one of {list(quantile_columns)} "
                              f"(the capacity model's quantiles); got {basis!r}")
        pd_bands = parse_bands(raw["pd_bands"], "policy.tiers.pd_bands", 0.0, 1.0)
        capacity_bands = parse_bands(raw["capacity_bands"], "policy.tiers.capacity_bands", 0.0,
                                     math.inf)
        table = raw["multipliers"]
        unknown = sorted(set(table) - {band.name for band in pd_bands})
        missing = [band.name for band in pd_bands if band.name not in table]
        if unknown or missing:
            raise ConfigError(f"policy.tiers.multipliers needs one row per PD band "
                              f"{[band.name for band in pd_bands]}; missing {missing}, "
                              f"unknown {unknown}")
        rows = []
        for band in pd_bands:
            row = tuple(float(value) for value in table[band.name])
            if len(row) != len(capacity_bands):
                raise ConfigError(
                    f"policy.tiers.multipliers.{band.name} needs {len(capacity_bands)} values "
                    f"(one per capacity band {[b.name for b in capacity_bands]}); got {len(row)}"
                )
            negative = [value for value in row if value < 0 or not math.isfinite(value)]
            if negative:
                raise ConfigError(f"policy.tiers.multipliers.{band.name} must be finite and "
                                  f">= 0; got {negative}")
            rows.append(row)
        return cls(basis, pd_bands, capacity_bands, tuple(rows))


@dataclass(frozen=True)
class OptimumSettings:
    revenue_rate: float
    """Yearly revenue per unit of balance carried: instalment fees plus merchant fees on use."""
    funding_rate: float
    """Yearly cost of funding a unit of balance."""
    horizon_months: int
    pd_elasticity: float
    """PD(L) = PD × (L / current limit) ^ elasticity: more room, more risk (0: none)."""
    expected_loss_budget: float
    """Portfolio EL / EAD may not exceed this (the lender's loss-rate appetite)."""
    grid_points: int
    """Candidate limits, geometric between the floor and the ceiling (plus no line at all)."""

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> OptimumSettings:
        settings = cls(
            revenue_rate=float(raw["revenue_rate"]), funding_rate=float(raw["funding_rate"]),
            horizon_months=int(raw["horizon_months"]), pd_elasticity=float(raw["pd_elasticity"]),
            expected_loss_budget=float(raw["expected_loss_budget"]),
            grid_points=int(raw["grid_points"]),
        )
        _non_negative("policy.optimum.revenue_rate", settings.revenue_rate)
        _non_negative("policy.optimum.funding_rate", settings.funding_rate)
        _non_negative("policy.optimum.pd_elasticity", settings.pd_elasticity)
        if settings.horizon_months < 1:
            raise ConfigError(f"policy.optimum.horizon_months must be >= 1; got "
                              f"{settings.horizon_months}")
        if not 0.0 < settings.expected_loss_budget <= 1.0:
            raise ConfigError(f"policy.optimum.expected_loss_budget must be in (0, 1]; got "
                              f"{settings.expected_loss_budget:g}")
        if settings.grid_points < 2:
            raise ConfigError(f"policy.optimum.grid_points must be >= 2; got "
                              f"{settings.grid_points}")
        return settings


@dataclass(frozen=True)
class ReviewSettings:
    min_change: float
    """Relative gap between target and current limit below which the limit is kept."""
    max_step_share: float
    """A raise adds at most this share of the current limit …"""
    max_step_amount: float
    """… and at most this amount."""
    min_months_between_raises: float
    no_raise_months_after_delinquency: float
    cut_pd_threshold: float
    """Cut only customers whose PD is at least this; others keep their limit."""
    max_cut_share: float
    """A cut removes at most this share of the current limit."""

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> ReviewSettings:
        settings = cls(**{name: float(raw[name]) for name in cls.__dataclass_fields__})
        for name in cls.__dataclass_fields__:
            _non_negative(f"policy.review.{name}", getattr(settings, name))
        for name in ("cut_pd_threshold", "max_cut_share"):
            if getattr(settings, name) > 1.0:
                raise ConfigError(f"policy.review.{name} must be in [0, 1]; got "
                                  f"{getattr(settings, name):g}")
        return settings


class PromotionSizing(str, Enum):
    """How a campaign's temporary limit is sized."""

    demand = "demand"
    """To the predicted campaign-window demand: the room it needs beyond the available limit."""
    share = "share"
    """A fixed share of the permanent limit, for customers above a utilisation."""


@dataclass(frozen=True)
class PromotionWindow:
    name: str
    month: int
    first_day: int
    expiry_day: int
    """The temporary limit ends at 00:00 of this day of the same month."""


@dataclass(frozen=True)
class PromotionSettings:
    windows: tuple[PromotionWindow, ...]
    min_utilisation: float
    """``share`` sizing: customers below this utilisation get no campaign limit."""
    max_pd: float
    extra_share: float
    """The temporary extra limit as a share of the permanent limit (``demand``: at most) …"""
    max_extra: float
    """… at most this amount."""
    sizing: PromotionSizing = PromotionSizing.demand
    demand_basis: str = "capacity_q90"
    """``demand`` sizing: the capacity quantile that predicts a campaign month's demand …"""
    demand_multiplier: float = 2.0
    """… times this."""

    @classmethod
    def from_config(cls, raw: Mapping[str, Any],
                    quantile_columns: Sequence[str] = ("capacity_q50", "capacity_q90")
                    ) -> PromotionSettings:
        windows = []
        for name, window in raw["windows"].items():
            month, first_day, expiry_day = (int(window[key])
                                            for key in ("month", "first_day", "expiry_day"))
            if not 1 <= month <= 12 or not 1 <= first_day < expiry_day <= 28:
                raise ConfigError(
                    f"policy.promotion.windows.{name}: month in 1..12 and 1 <= first_day < "
                    f"expiry_day <= 28 (a date every month has); got month {month}, first_day "
                    f"{first_day}, expiry_day {expiry_day}"
                )
            windows.append(PromotionWindow(str(name), month, first_day, expiry_day))
        sizing = raw.get("sizing", PromotionSizing.demand.value)
        try:
            sizing = PromotionSizing(getattr(sizing, "value", sizing))
        except ValueError:
            raise ConfigError(f"policy.promotion.sizing must be one of "
                              f"{[m.value for m in PromotionSizing]}; got {sizing!r}") from None
        basis = str(raw.get("demand_basis", "capacity_q90"))
        if sizing is PromotionSizing.demand and basis not in quantile_columns:
            raise ConfigError(f"policy.promotion.demand_basis must be one of the capacity "
                              f"model's quantiles {list(quantile_columns)}; got {basis!r}")
        settings = cls(tuple(windows), float(raw["min_utilisation"]), float(raw["max_pd"]),
                       float(raw["extra_share"]), float(raw["max_extra"]), sizing, basis,
                       float(raw.get("demand_multiplier", 2.0)))
        for name in ("min_utilisation", "max_pd", "extra_share", "max_extra",
                     "demand_multiplier"):
            _non_negative(f"policy.promotion.{name}", getattr(settings, name))
        if settings.max_pd > 1.0:
            raise ConfigError(f"policy.promotion.max_pd must be a probability; got "
                              f"{settings.max_pd:g}")
        return settings


@dataclass(frozen=True)
class LimitPolicy:
    """Everything the policy needs besides the customers' PD and capacity."""

    name: str
    method: TargetMethod
    floor: float
    ceiling: float
    rounding: float
    lgd: float
    ccf: float
    """Share of the unused limit drawn by the time of default (EAD = balance + CCF × unused)."""
    max_pd: float
    """No line (limit 0) at or above this PD, whatever the method."""
    tiers: TierSettings
    optimum: OptimumSettings
    review: ReviewSettings
    promotion: PromotionSettings
    reason_texts: Mapping[str, Mapping[str, str]]
    """Rule code → {zh, en}: what a customer is told."""

    @classmethod
    def from_config(cls, raw: Mapping[str, Any],
                    quantile_columns: Sequence[str] = ("capacity_q50", "capacity_q90")
                    ) -> LimitPolicy:
        method = raw["method"]
        try:
            method = TargetMethod(getattr(method, "value", method))
        except ValueError:
            raise ConfigError(f"policy.method must be one of {[m.value for m in TargetMethod]}; "
                              f"got {method!r}") from None
        floor, ceiling, rounding = (float(raw[key]) for key in ("floor", "ceiling", "rounding"))
        if floor <= 0 or rounding <= 0:
            raise ConfigError(f"policy.floor and policy.rounding must be > 0; got floor "
                              f"{floor:g}, rounding {rounding:g}")
        if floor > ceiling:
            raise ConfigError(f"policy.floor ({floor:g}) must not be above policy.ceiling "
                              f"({ceiling:g})")
        for key in ("lgd", "ccf", "max_pd"):
            value = float(raw[key])
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"policy.{key} must be in [0, 1]; got {value:g}")
        return cls(
            name=str(raw["name"]), method=method, floor=floor, ceiling=ceiling,
            rounding=rounding, lgd=float(raw["lgd"]), ccf=float(raw["ccf"]),
            max_pd=float(raw["max_pd"]),
            tiers=TierSettings.from_config(raw["tiers"], quantile_columns),
            optimum=OptimumSettings.from_config(raw["optimum"]),
            review=ReviewSettings.from_config(raw["review"]),
            promotion=PromotionSettings.from_config(raw["promotion"], quantile_columns),
            reason_texts={str(code): {str(k): str(v) for k, v in texts.items()}
                          for code, texts in raw.get("reason_texts", {}).items()},
        )


def _non_negative(key: str, value: float) -> None:
    if not value >= 0 or not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number >= 0; got {value:g}")
