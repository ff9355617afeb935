"""The calendar: month boundaries, shopping seasonality (618, Double 11, year-end, Chinese New
Year) and the macro downturn. Everything time-dependent that the process and the oracle share."""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from credit_models.data.simulator.config import SimulatorConfig
from credit_models.timestamps import utc_timestamp

MICROSECONDS_PER_SECOND = 1_000_000
MICROSECONDS_PER_DAY = 86_400 * MICROSECONDS_PER_SECOND

PROMOTION_WINDOWS = {6: (1, 18, 1.0), 11: (1, 11, 1.4)}
"""Campaign month -> (first day, peak = last day, spike amplitude): 618 runs 1-18 June with its peak
on the 18th, Double 11 runs 1-11 November with its peak on the 11th (the bigger one)."""

PROMOTION_RAISE_EXPIRY_DAY = {6: 21, 11: 14}
"""Temporary promotion limits end at 00:00 of this day (after the campaign's peak)."""

CHINESE_NEW_YEAR = {
    2015: date(2015, 2, 19), 2016: date(2016, 2, 8), 2017: date(2017, 1, 28),
    2018: date(2018, 2, 16), 2019: date(2019, 2, 5), 2020: date(2020, 1, 25),
    2021: date(2021, 2, 12), 2022: date(2022, 2, 1), 2023: date(2023, 1, 22),
    2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17),
    2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13),
    2030: date(2030, 2, 3), 2031: date(2031, 1, 23), 2032: date(2032, 2, 11),
    2033: date(2033, 1, 31), 2034: date(2034, 2, 19), 2035: date(2035, 2, 8),
}
"""Spending rises in the ten days before the holiday and drops in the holiday week; years outside
the table simply have no bump."""


def month_start(config: SimulatorConfig, index: int) -> pd.Timestamp:
    return config.start + pd.DateOffset(months=index)


def to_microseconds(timestamp: pd.Timestamp) -> int:
    return int(utc_timestamp(timestamp).value // 1_000)  # .value is always nanoseconds


def month_index_of(config: SimulatorConfig, timestamp: pd.Timestamp) -> int:
    """Calendar-month index of an instant (0 = the month of ``start_date``)."""
    timestamp = utc_timestamp(timestamp)
    start = config.start
    return (timestamp.year - start.year) * 12 + (timestamp.month - start.month)


def macro_level(config: SimulatorConfig, index: int) -> float:
    """The downturn's strength in month ``index``: the severity in months overlapping
    [downturn_start, downturn_end], else 0. Defined beyond the history too (for the oracle)."""
    first = month_start(config, index)
    after = month_start(config, index + 1)
    overlaps = first <= utc_timestamp(config.downturn_end) and after > utc_timestamp(
        config.downturn_start
    )
    return float(config.downturn_severity) if overlaps else 0.0


def daily_profile(year: int, month: int, config: SimulatorConfig) -> tuple[np.ndarray, np.ndarray]:
    """Relative order intensity of each day of a month (about 1 on an ordinary day) and whether
    the day belongs to a promotion campaign."""
    days = _calendar.monthrange(year, month)[1]
    day = np.arange(1, days + 1)
    intensity = np.ones(days)
    promotion = np.zeros(days, dtype=bool)
    if month in PROMOTION_WINDOWS:
        first, peak, amplitude = PROMOTION_WINDOWS[month]
        window = (day >= first) & (day <= peak)
        spike = np.exp(-(peak - day) / 1.5)
        uplift = config.promotion_order_uplift * amplitude * (0.6 + 2.4 * spike)
        intensity = np.where(window, intensity + uplift, intensity)
        promotion = window
    if month == 12:
        intensity = intensity + np.where(day == 12, 0.5, 0.0) + np.where(day >= 20, 0.15, 0.0)
    new_year = CHINESE_NEW_YEAR.get(year)
    if new_year is not None and month in (1, 2, 3):
        offsets = np.array([(date(year, month, int(d)) - new_year).days for d in day])
        before_holiday = (offsets >= -10) & (offsets < 0)
        holiday_week = (offsets >= 0) & (offsets < 7)
        intensity = intensity * np.where(before_holiday, 1.3, np.where(holiday_week, 0.6, 1.0))
    return intensity, promotion


@dataclass(frozen=True)
class HorizonCalendar:
    """Month-level calendar of the simulated history, precomputed as arrays."""

    month_start_us: np.ndarray
    """Start of month t in microseconds since the epoch, for t = 0..months (the last entry is
    the extraction date)."""
    days_in_month: np.ndarray
    calendar_month: np.ndarray
    """1..12 for each simulated month."""
    daily_intensity: list[np.ndarray]
    daily_promotion: list[np.ndarray]
    macro: np.ndarray

    @classmethod
    def build(cls, config: SimulatorConfig) -> HorizonCalendar:
        starts = [month_start(config, t) for t in range(config.months + 1)]
        intensity, promotion = [], []
        for start in starts[:-1]:
            profile, promo = daily_profile(start.year, start.month, config)
            intensity.append(profile)
            promotion.append(promo)
        return cls(
            month_start_us=np.array([to_microseconds(s) for s in starts], dtype=np.int64),
            days_in_month=np.array([len(p) for p in intensity], dtype=np.int64),
            calendar_month=np.array([s.month for s in starts[:-1]], dtype=np.int64),
            daily_intensity=intensity,
            daily_promotion=promotion,
            macro=np.array([macro_level(config, t) for t in range(config.months)]),
        )

    @property
    def extraction_us(self) -> int:
        return int(self.month_start_us[-1])

    def day_start_us(self, month: int, day: int) -> int:
        """00:00 of day ``day`` (1-based) of month ``month``."""
        return int(self.month_start_us[month]) + (day - 1) * MICROSECONDS_PER_DAY
