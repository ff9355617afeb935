"""Closed-loop evaluation: the months after a snapshot simulated again under other limits.

A replay backtest holds repayments and demand as observed, so a limit cannot change what a
customer buys, owes or repays. Here the simulator itself runs the window under each candidate
limit schedule, with **common random numbers**: the simulation is stepped to the snapshot once,
copied, and each copy continues under its own limits with the same generators. Every draw of the
month step is made whatever the data (see :mod:`randomness`), and latent states, order attempts
and payment intentions do not depend on the limit, so two policies see the same customers,
shocks, distress and demand draws: the difference between their outcomes is the policy's effect,
not noise. What a limit does change is played out: which attempts fit (and the customers who do
not try an order they see will not fit), the balances, bills and finance charges that follow,
and what a customer entering distress draws down before the account is charged off.

Outcomes per policy, over the given customers and the window [start, end): order attempts
accepted and declined for insufficient limit (overall and per campaign window), spend, finance
charges (revenue), the balance at the end, customers reaching 30+ days past due, the balance
written off at charge-off (realised loss), and the customers whose limit never grew; for all of
them and, apart, for the thin-file and thick-file customers (the simulator's own flag).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_models.data.simulator.calendar import HorizonCalendar, month_index_of, to_microseconds
from credit_models.data.simulator.config import SimulatorConfig
from credit_models.data.simulator.decisions import DECLINE_REASONS
from credit_models.data.simulator.process import ChunkSimulation, EventLog
from credit_models.data.simulator.scheduled_limits import LimitSchedule
from credit_models.errors import ConfigError
from credit_models.timestamps import utc_timestamp

logger = logging.getLogger(__name__)

SIMULATOR_POLICY = "simulator"
"""The simulator's own lender: what the data set's history shows."""
DEFAULT_RUN_LENGTH = 2
"""Distressed months in a row that put the oldest missed bill 30 days past due."""
INSUFFICIENT_LIMIT = DECLINE_REASONS.index("insufficient_limit")
SCHEDULE_COLUMNS = ("customer_id", "starts_at", "limit")
ALL, THIN_FILE, THICK_FILE = "all", "thin_file", "thick_file"
SEGMENTS = (ALL, THIN_FILE, THICK_FILE)


@dataclass(frozen=True)
class ClosedLoopWindow:
    start: pd.Timestamp
    end: pd.Timestamp
    campaigns: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]]
    """Named campaign windows [start, end) whose declines are counted apart (618, Double 11)."""

    def months(self, config: SimulatorConfig) -> tuple[int, int]:
        """Month indices [first, last) of the window; refused unless it is whole months of the
        simulated history."""
        start, end = utc_timestamp(self.start), utc_timestamp(self.end)
        first, last = month_index_of(config, start), month_index_of(config, end)
        for name, value in (("start", start), ("end", end)):
            if value != value.normalize() or value.day != 1:
                raise ConfigError(f"closed-loop {name} must be a month start; got {value}")
        if not 0 < first < last <= config.months:
            raise ConfigError(
                f"closed-loop window [{start.date()}, {end.date()}) must lie after the first "
                f"simulated month and end by the extraction date {config.extraction_date.date()}"
            )
        return first, last


def closed_loop_outcomes(
    config: SimulatorConfig,
    schedules: Mapping[str, pd.DataFrame | None],
    window: ClosedLoopWindow,
    customers: pd.Index | None = None,
) -> pd.DataFrame:
    """One row per policy and segment (index ``policy``, ``segment``: :data:`SEGMENTS`; policies
    in the given order), one column per outcome.

    ``schedules``: label → limit schedule (customer_id, starts_at, limit; the replay's step
    function) or None for the simulator's own policy. Outcomes count ``customers`` (default:
    every customer of the first schedule, else everyone signed up by the window's start).
    """
    config.validate()
    if not schedules:
        raise ConfigError("closed loop needs at least one policy to simulate")
    first_month, last_month = window.months(config)
    frames = {label: _checked(label, frame) for label, frame in schedules.items()}
    if customers is None:
        given = [frame for frame in frames.values() if frame is not None]
        customers = pd.Index(given[0]["customer_id"].unique()) if given else None
    calendar = HorizonCalendar.build(config)
    totals: dict[tuple[str, str], dict[str, float]] = {
        (label, segment): {} for label in frames for segment in SEGMENTS}
    started = time.perf_counter()
    for first in range(0, config.n_customers, config.chunk_size):
        count = min(config.chunk_size, config.n_customers - first)
        simulation = ChunkSimulation(config, calendar, first, count)
        simulation.advance(range(first_month))
        simulation.log = EventLog()  # the history before the window is not needed
        counted = _counted(simulation, customers, window.start)
        thin = simulation.population.is_thin_file
        masks = {ALL: counted, THIN_FILE: counted & thin, THICK_FILE: counted & ~thin}
        at_snapshot = _Snapshot.of(simulation)
        for label, frame in frames.items():
            branch = copy.deepcopy(simulation)
            if frame is not None:
                branch.schedule = _chunk_schedule(frame, branch, first_month)
            branch.advance(range(first_month, last_month))
            events = {table: branch.log.pop(table)
                      for table in ("orders", "declines", "bills", "monthly_states")}
            for segment, mask in masks.items():
                _add(totals[label, segment], _outcomes(branch, events, at_snapshot, mask, window))
        logger.info("closed loop: customers %s-%s, %d policies, %d months in %.1fs",
                    f"{first:,}", f"{first + count:,}", len(frames), last_month - first_month,
                    time.perf_counter() - started)
    table = pd.DataFrame.from_dict({key: _rates(values, window)
                                    for key, values in totals.items()}, orient="index")
    table.index.names = ["policy", "segment"]
    return table


def _checked(label: str, frame: pd.DataFrame | None) -> pd.DataFrame | None:
    if frame is None:
        return None
    missing = [column for column in SCHEDULE_COLUMNS if column not in frame.columns]
    if missing:
        raise ConfigError(f"limit schedule {label!r} lacks column(s) {missing}")
    bad = frame[~(frame["limit"] >= 0)]
    if len(bad):
        raise ConfigError(
            f"limit schedule {label!r}: limit must be a number >= 0; {len(bad)} row(s) are not, "
            f"e.g.\n{bad.head(5).to_string()}"
        )
    return frame


def _chunk_schedule(frame: pd.DataFrame, simulation: ChunkSimulation,
                    first_month: int) -> LimitSchedule:
    ids = pd.Index(simulation.population.customer_id)
    position = ids.get_indexer(frame["customer_id"].to_numpy(np.int64))
    inside = position >= 0
    starts = pd.to_datetime(frame["starts_at"], utc=True).dt.tz_convert(None)
    starts_us = starts.to_numpy(dtype="datetime64[us]").view(np.int64)[inside]
    return LimitSchedule.build(first_month, position[inside], starts_us,
                               frame["limit"].to_numpy(float)[inside], len(ids))


def _counted(simulation: ChunkSimulation, customers: pd.Index | None,
             start: pd.Timestamp) -> np.ndarray:
    population = simulation.population
    if customers is None:
        return population.signed_up_at_us < to_microseconds(utc_timestamp(start))
    return np.asarray(pd.Index(population.customer_id).isin(customers))


@dataclass(frozen=True)
class _Snapshot:
    limit: np.ndarray
    finance_charges: np.ndarray
    charged_off: np.ndarray

    @classmethod
    def of(cls, simulation: ChunkSimulation) -> _Snapshot:
        return cls(simulation.ledger.limit.copy(), simulation.finance_charges.copy(),
                   simulation.charged_off.copy())


def _outcomes(simulation: ChunkSimulation, events: Mapping[str, dict[str, np.ndarray]],
              snapshot: _Snapshot, counted: np.ndarray,
              window: ClosedLoopWindow) -> dict[str, float]:
    orders, declines = events["orders"], events["declines"]
    bills, states = events["bills"], events["monthly_states"]
    accepted = counted[orders["customer"]]
    declined = counted[declines["customer"]] & (declines["reason"] == INSUFFICIENT_LIMIT)
    open_at_start = counted & ~snapshot.charged_off & (snapshot.limit > 0)
    highest = snapshot.limit.copy()
    np.maximum.at(highest, bills["customer"], bills["credit_limit"])
    highest = np.maximum(highest, simulation.ledger.limit)
    went_bad = np.zeros(len(counted), dtype=bool)
    went_bad[states["customer"][states["run_length"] >= DEFAULT_RUN_LENGTH]] = True
    charged_off = simulation.charged_off & ~snapshot.charged_off & counted
    outstanding = simulation.ledger.outstanding()
    values = {
        "customers": float(counted.sum()),
        "orders_accepted": float(accepted.sum()),
        "orders_declined": float(declined.sum()),
        "spend": float(orders["amount"][accepted].sum()),
        "declined_amount": float(declines["amount"][declined].sum()),
        "revenue": float((simulation.finance_charges - snapshot.finance_charges)[counted].sum()),
        "end_balance": float(outstanding[counted & ~simulation.charged_off].sum()),
        "defaults": float((went_bad & counted).sum()),
        "charged_off": float(charged_off.sum()),
        "realised_loss": float(simulation.written_off[charged_off].sum()),
        "open_accounts": float(open_at_start.sum()),
        "never_raised": float((open_at_start & (highest <= snapshot.limit)).sum()),
    }
    for name, (start, end) in window.campaigns.items():
        lower, upper = to_microseconds(utc_timestamp(start)), to_microseconds(utc_timestamp(end))
        in_order = (orders["ordered_at"] >= lower) & (orders["ordered_at"] < upper)
        in_decline = (declines["declined_at"] >= lower) & (declines["declined_at"] < upper)
        values[f"orders_accepted/{name}"] = float((accepted & in_order).sum())
        values[f"orders_declined/{name}"] = float((declined & in_decline).sum())
    return values


def _add(total: dict[str, float], values: Mapping[str, float]) -> None:
    for name, value in values.items():
        total[name] = total.get(name, 0.0) + value


def _rate(part: float, whole: float) -> float:
    return float(part / whole) if whole else float("nan")


def _rates(values: Mapping[str, float], window: ClosedLoopWindow) -> dict[str, float]:
    """The counts plus the rates a comparison reads (named as the replay backtest names them)."""
    demand = values["orders_accepted"] + values["orders_declined"]
    rates = {
        **values,
        "orders": demand,
        "declined_order_rate": _rate(values["orders_declined"], demand),
        "declined_amount_rate": _rate(values["declined_amount"],
                                      values["spend"] + values["declined_amount"]),
        "default_rate": _rate(values["defaults"], values["customers"]),
        "loss_rate": _rate(values["realised_loss"], values["spend"]),
        "never_raised_share": _rate(values["never_raised"], values["open_accounts"]),
    }
    for name in window.campaigns:
        wanted = values[f"orders_accepted/{name}"] + values[f"orders_declined/{name}"]
        rates[f"orders/{name}"] = wanted
        rates[f"declined_order_rate/{name}"] = _rate(values[f"orders_declined/{name}"], wanted)
    return rates
