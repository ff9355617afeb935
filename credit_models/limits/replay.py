"""Limit backtest replay: had we granted these limits instead, which orders would have been
declined for insufficient limit, and what balance would each customer have carried?

Demand is every accepted order plus every order declined for insufficient limit (the customer
wanted it); risk-rule declines are not limit-related and are left out. A candidate limit policy
is a *schedule*: a step function of the limit in force per customer (:func:`static_schedule`
for a policy, :func:`observed_schedule` for what was actually granted).

Assumption (documented, not estimated): repayments are held as observed — customers pay what
they paid, when they paid it, whatever the policy. A repayment lowers the balance by its amount
and the balance floors at 0 (a customer who would have borrowed less cannot pay back more than
they owe). Consequently a replay under a different policy does not model changed repayment
behaviour, changed demand after a decline, or spending that a higher limit would have unlocked
beyond the observed insufficient-limit declines.

Replay rule, per customer, events merged in time order (at equal times repayments first, then
in input order): a demand event is accepted iff ``amount <= limit_in_force - balance`` (with a
1e-9 tolerance), and then the balance grows by the amount (the whole amount counts against the
limit until repaid, instalments included); a declined event leaves the balance unchanged. The
engine is vectorised across customers: it loops over the k-th event of every customer at once,
so its Python loop runs as many times as the busiest customer has events, not once per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_models.errors import ConfigError, ContractViolation, TrainingDataError
from credit_models.timestamps import utc_timestamp

TOLERANCE = 1e-9
"""An order for exactly the available limit is accepted despite floating-point noise."""
ORDER, DECLINED_INSUFFICIENT_LIMIT = "order", "declined_insufficient_limit"
DEMAND_COLUMNS = ("customer_id", "at", "amount", "source")
REPAYMENT_COLUMNS = ("customer_id", "at", "amount")
SCHEDULE_COLUMNS = ("customer_id", "starts_at", "limit")
_TIME = "datetime64[us, UTC]"


@dataclass(frozen=True)
class Replay:
    """What a replay decided (``orders``: the demand rows plus ``limit``, ``available`` and
    ``accepted``) and what each customer carried (``customers``, indexed by customer_id:
    ``peak_balance``, ``end_balance``, ``mean_utilisation``)."""

    orders: pd.DataFrame
    customers: pd.DataFrame


def _require(frame: pd.DataFrame, table: str, columns: tuple[str, ...]) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise TrainingDataError(
            f"{table} lacks column(s) {missing}; it has {list(frame.columns)}"
        )


def _times(values: pd.Series) -> pd.Series:
    """One timestamp dtype everywhere, so comparisons and int64 views agree across tables."""
    return pd.to_datetime(values, utc=True).astype(_TIME)


def _epoch(values: pd.Series) -> np.ndarray:
    """Microseconds since the epoch: fast integer comparisons in the replay loop."""
    return _times(values).dt.tz_convert(None).to_numpy().view(np.int64)


def _window(
    start: str | pd.Timestamp, end: str | pd.Timestamp
) -> tuple[pd.Timestamp, pd.Timestamp]:
    start, end = utc_timestamp(start), utc_timestamp(end)
    if not start < end:
        raise ConfigError(f"replay window must have start < end; got [{start}, {end})")
    return start, end


def demand_events(
    orders: pd.DataFrame,
    declines: pd.DataFrame | None,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
) -> pd.DataFrame:
    """Everything customers asked for in [start, end): accepted orders and insufficient-limit
    declines (risk-rule declines say nothing about the limit), sorted by customer_id, at."""
    start, end = _window(start, end)
    _require(orders, "orders", ("customer_id", "ordered_at", "amount"))
    parts = [pd.DataFrame({
        "customer_id": orders["customer_id"].to_numpy(np.int64),
        "at": _times(orders["ordered_at"]).array,
        "amount": orders["amount"].to_numpy(np.float64),
        "source": ORDER,
    })]
    if declines is not None:
        _require(declines, "declines", ("customer_id", "declined_at", "amount", "reason"))
        wanted = declines[declines["reason"] == "insufficient_limit"]
        parts.append(pd.DataFrame({
            "customer_id": wanted["customer_id"].to_numpy(np.int64),
            "at": _times(wanted["declined_at"]).array,
            "amount": wanted["amount"].to_numpy(np.float64),
            "source": DECLINED_INSUFFICIENT_LIMIT,
        }))
    demand = pd.concat(parts, ignore_index=True)
    demand["at"] = demand["at"].astype(_TIME)
    demand = demand[(demand["at"] >= start) & (demand["at"] < end)]
    return demand.sort_values(["customer_id", "at"], kind="stable").reset_index(drop=True)


def repayment_events(
    repayments: pd.DataFrame, start: str | pd.Timestamp, end: str | pd.Timestamp
) -> pd.DataFrame:
    """Repayments in [start, end), held as observed whatever the policy (see module docstring)."""
    start, end = _window(start, end)
    _require(repayments, "repayments", ("customer_id", "repaid_at", "amount"))
    events = pd.DataFrame({
        "customer_id": repayments["customer_id"].to_numpy(np.int64),
        "at": _times(repayments["repaid_at"]).array,
        "amount": repayments["amount"].to_numpy(np.float64),
    })
    events["at"] = events["at"].astype(_TIME)
    events = events[(events["at"] >= start) & (events["at"] < end)]
    return events.sort_values(["customer_id", "at"], kind="stable").reset_index(drop=True)


def opening_balance(
    orders: pd.DataFrame, repayments: pd.DataFrame, at: str | pd.Timestamp
) -> pd.Series:
    """The balance each customer carries into the replay: accepted orders strictly before `at`
    minus repayments strictly before `at`, floored at 0. Customers with neither are absent."""
    at = utc_timestamp(at)
    _require(orders, "orders", ("customer_id", "ordered_at", "amount"))
    _require(repayments, "repayments", ("customer_id", "repaid_at", "amount"))
    drawn = orders.loc[_times(orders["ordered_at"]) < at].groupby("customer_id")["amount"].sum()
    repaid = (
        repayments.loc[_times(repayments["repaid_at"]) < at]
        .groupby("customer_id")["amount"].sum()
    )
    balance = drawn.sub(repaid, fill_value=0.0).clip(lower=0.0)
    balance.index = balance.index.astype(np.int64)
    balance.index.name = "customer_id"
    return balance.rename("balance").astype(np.float64)


def observed_schedule(
    limit_events: pd.DataFrame, start: str | pd.Timestamp, end: str | pd.Timestamp
) -> pd.DataFrame:
    """The limit actually in force, as a step function (customer_id, starts_at, limit).

    Per customer, the first row is the limit in force at `start` (the last event at or before
    it), then one row per event in (start, end). A customer with no event at or before `start`
    has no opening row (no line yet); a line first granted inside the window starts at its
    grant, and demand before it meets no line. Events at the same instant keep their table order
    (by limit_event_id when present), so the last one is the limit in force.
    """
    start, end = _window(start, end)
    _require(limit_events, "limit_events", ("customer_id", "changed_at", "new_limit"))
    events = pd.DataFrame({
        "customer_id": limit_events["customer_id"].to_numpy(np.int64),
        "starts_at": _times(limit_events["changed_at"]).array,
        "limit": limit_events["new_limit"].to_numpy(np.float64),
        "_order": (
            limit_events["limit_event_id"].to_numpy()
            if "limit_event_id" in limit_events.columns else np.arange(len(limit_events))
        ),
    })
    events["starts_at"] = events["starts_at"].astype(_TIME)
    events = events.sort_values(["customer_id", "starts_at", "_order"], kind="stable")
    before = events[events["starts_at"] <= start]
    opening = before.groupby("customer_id", sort=False).tail(1).assign(starts_at=start)
    inside = events[(events["starts_at"] > start) & (events["starts_at"] < end)]
    schedule = pd.concat([opening, inside], ignore_index=True)
    schedule = schedule.sort_values(["customer_id", "starts_at", "_order"], kind="stable")
    return schedule.drop(columns="_order").reset_index(drop=True)


def static_schedule(
    limits: pd.Series,
    start: str | pd.Timestamp,
    promotions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A candidate policy as a schedule: permanent `limits` (index customer_id) from `start`,
    plus temporary `promotions` (customer_id, starts_at, ends_at, extra) that add `extra` in
    [starts_at, ends_at). Overlapping promotions add up; a promotion begun before `start` counts
    from `start`."""
    start = utc_timestamp(start)
    limits = pd.Series(limits, dtype=np.float64)
    bad = limits[~(limits >= 0)]
    if len(bad):
        raise ConfigError(
            ContractViolation(
                "limits", None, "limit must be a number >= 0", len(bad),
                bad.rename("limit").rename_axis("customer_id").reset_index(),
            ).describe()
        )
    base = pd.DataFrame({
        "customer_id": limits.index.to_numpy(np.int64),
        "starts_at": start,
        "limit": limits.to_numpy(np.float64),
    })
    base["starts_at"] = base["starts_at"].astype(_TIME)
    if promotions is None or promotions.empty:
        return base.sort_values("customer_id", kind="stable").reset_index(drop=True)
    _require(promotions, "promotions", ("customer_id", "starts_at", "ends_at", "extra"))
    promo = pd.DataFrame({
        "customer_id": promotions["customer_id"].to_numpy(np.int64),
        "starts_at": _times(promotions["starts_at"]).array,
        "ends_at": _times(promotions["ends_at"]).array,
        "extra": promotions["extra"].to_numpy(np.float64),
    })
    _check_promotions(promo, set(base["customer_id"]))
    promo = promo[promo["ends_at"] > start]
    breaks = pd.concat([
        base[["customer_id", "starts_at"]],
        promo[["customer_id", "starts_at"]],
        promo[["customer_id", "ends_at"]].rename(columns={"ends_at": "starts_at"}),
    ], ignore_index=True)
    breaks["starts_at"] = breaks["starts_at"].astype(_TIME).clip(lower=start)
    breaks = breaks.drop_duplicates().reset_index(drop=True)
    pairs = breaks.reset_index().merge(promo, on="customer_id", suffixes=("", "_promo"))
    active = pairs[(pairs["starts_at_promo"] <= pairs["starts_at"])
                   & (pairs["starts_at"] < pairs["ends_at"])]
    extra = active.groupby("index")["extra"].sum().reindex(breaks.index, fill_value=0.0)
    permanent = limits.groupby(level=0).last()
    breaks["limit"] = permanent.reindex(breaks["customer_id"]).to_numpy() + extra.to_numpy()
    return breaks.sort_values(["customer_id", "starts_at"], kind="stable").reset_index(drop=True)


def _check_promotions(promo: pd.DataFrame, customers: set[int]) -> None:
    checks = [
        (~(promo["extra"] >= 0), "extra", "extra must be a number >= 0"),
        (~(promo["starts_at"] < promo["ends_at"]), "ends_at", "ends_at must be after starts_at"),
        (~promo["customer_id"].isin(customers), "customer_id",
         "a promotion needs a permanent limit for its customer"),
    ]
    for mask, column, rule in checks:
        if mask.any():
            raise ConfigError(
                ContractViolation("promotions", column, rule, int(mask.sum()), promo[mask])
                .describe()
            )


def _limit_in_force(
    customer: np.ndarray, at: np.ndarray, schedule: pd.DataFrame
) -> np.ndarray:
    """The schedule's limit at each (customer, at): the last row with starts_at <= at; 0 for a
    customer without a row yet (no line). Of rows sharing a starts_at, the last one wins."""
    steps = pd.DataFrame({
        "customer_id": schedule["customer_id"].to_numpy(np.int64),
        "t": _epoch(schedule["starts_at"]),
        "limit": schedule["limit"].to_numpy(np.float64),
    })
    steps = steps.sort_values("t", kind="stable")
    events = pd.DataFrame({"customer_id": customer, "t": at, "_row": np.arange(len(at))})
    events = events.sort_values("t", kind="stable")
    found = pd.merge_asof(events, steps, on="t", by="customer_id", direction="backward")
    limit = np.empty(len(at))
    limit[found["_row"].to_numpy()] = found["limit"].fillna(0.0).to_numpy()
    return limit


def replay(
    demand: pd.DataFrame,
    repayments: pd.DataFrame,
    schedule: pd.DataFrame,
    opening: pd.Series,
) -> Replay:
    """Replay demand and repayments against `schedule`, starting from `opening` balances
    (absent customers open at 0). See the module docstring for the rule and its assumption."""
    _require(demand, "demand", ("customer_id", "at", "amount"))
    _require(repayments, "repayments", REPAYMENT_COLUMNS)
    _require(schedule, "schedule", SCHEDULE_COLUMNS)
    bad = schedule[~(schedule["limit"].to_numpy(np.float64) >= 0)]
    if len(bad):
        raise ConfigError(
            ContractViolation("schedule", "limit", "limit must be a number >= 0", len(bad), bad)
            .describe()
        )

    n_demand = len(demand)
    customer_raw = np.concatenate([
        demand["customer_id"].to_numpy(np.int64), repayments["customer_id"].to_numpy(np.int64)
    ])
    at = np.concatenate([
        _epoch(demand["at"]),
        _epoch(repayments["at"]),
    ])
    amount = np.concatenate([
        demand["amount"].to_numpy(np.float64), repayments["amount"].to_numpy(np.float64)
    ])
    is_demand = np.arange(len(at)) < n_demand
    customers = np.union1d(
        schedule["customer_id"].to_numpy(np.int64), np.unique(customer_raw)
    )
    code = np.searchsorted(customers, customer_raw)

    # Event order per customer: time, then repayments before demand, then input order.
    order = np.lexsort((np.arange(len(at)), is_demand, at, code))
    code, at, amount, is_demand = code[order], at[order], amount[order], is_demand[order]
    limit = _limit_in_force(customers[code], at, schedule)

    # Rank of each event within its customer; process the k-th event of all customers at once.
    n_events = np.bincount(code, minlength=len(customers))
    first = np.concatenate([[0], np.cumsum(n_events)[:-1]])
    rank = np.arange(len(code)) - first[code]
    by_rank = np.lexsort((code, rank))
    bounds = np.concatenate([[0], np.cumsum(np.bincount(rank))]) if len(rank) else np.array([0])

    balance = (
        pd.Series(opening, dtype=np.float64).groupby(level=0).sum()
        .reindex(customers, fill_value=0.0).to_numpy(np.float64, copy=True)
    )
    opening_values = balance.copy()
    before = np.empty(len(code))
    after = np.empty(len(code))
    accepted = np.zeros(len(code), dtype=bool)
    for k in range(len(bounds) - 1):
        rows = by_rank[bounds[k]:bounds[k + 1]]
        who = code[rows]
        held = balance[who]
        asked = amount[rows]
        wanted = is_demand[rows]
        ok = wanted & (asked <= limit[rows] - held + TOLERANCE)
        new = np.where(wanted, np.where(ok, held + asked, held), np.maximum(held - asked, 0.0))
        before[rows], after[rows], accepted[rows] = held, new, ok
        balance[who] = new

    result = demand.copy()
    back = np.empty(len(order), dtype=np.int64)
    back[order] = np.arange(len(order))
    demand_rows = back[:n_demand]
    result["limit"] = limit[demand_rows]
    result["available"] = np.maximum(limit[demand_rows] - before[demand_rows], 0.0)
    result["accepted"] = accepted[demand_rows]

    peak = opening_values.copy()
    np.maximum.at(peak, code, after)
    with np.errstate(all="ignore"):   # a zero limit has no utilisation; a tiny one may overflow
        ratio = np.where(limit > 0, after / limit, np.nan)
    utilisation = pd.Series(ratio).groupby(code).mean().reindex(
        np.arange(len(customers))
    ).to_numpy()
    summary = pd.DataFrame(
        {"peak_balance": peak, "end_balance": balance, "mean_utilisation": utilisation},
        index=pd.Index(customers, name="customer_id"),
    )
    return Replay(orders=result, customers=summary)
