"""The capacity target of the credit-limit model: how much a customer spends in a month, at the
peak (or a high percentile) of the months after the snapshot.

Demand, not only what was granted: orders declined for insufficient limit count as spend the
customer wanted (configurable), otherwise a customer held back by a small limit would teach the
model that they need little.

Two sources of monthly demand (``CapacityDefinition.demand``):

* ``orders``: the orders table, dated at ``ordered_at``;
* ``statements``: for data sets without an orders table (e.g. the UCI Taiwan card data, whose
  adapted tables hold bills and repayments only), each statement's *new charges*, dated at its
  ``statement_date``: ``amount_due - (previous amount_due - repayments received in
  [previous statement_date, this statement_date))``, floored at 0; a customer's first statement
  counts its ``amount_due`` (floored at 0). Only statements dated inside the window count; the
  previous statement (and the repayments since) may lie before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_models.errors import ConfigError, TrainingDataError

CAPACITY_STATISTICS = ("max", "quantile", "mean")
DEMAND_SOURCES = ("orders", "statements")


@dataclass(frozen=True)
class CapacityDefinition:
    months: int = 6
    statistic: str = "max"
    quantile: float = 0.9
    include_declined: bool = True
    demand: str = "orders"

    def __post_init__(self) -> None:
        if self.months < 1:
            raise ConfigError(f"labels.capacity.months must be >= 1; got {self.months}")
        if self.statistic not in CAPACITY_STATISTICS:
            raise ConfigError(
                f"labels.capacity.statistic must be one of {list(CAPACITY_STATISTICS)}; "
                f"got {self.statistic!r}"
            )
        if not 0.0 < self.quantile < 1.0:
            raise ConfigError(f"labels.capacity.quantile must be in (0, 1); got {self.quantile}")
        if self.demand not in DEMAND_SOURCES:
            raise ConfigError(
                f"labels.capacity.demand must be one of {list(DEMAND_SOURCES)}; "
                f"got {self.demand!r}"
            )


def _required_table(tables: Mapping[str, pd.DataFrame], name: str, demand: str,
                    allow_empty: bool = False) -> pd.DataFrame:
    table = tables.get(name)
    if table is None or (table.empty and not allow_empty):
        state = "missing" if table is None else "empty"
        other = "statements" if demand == "orders" else "orders"
        hint = (" (a data set without orders, such as the UCI Taiwan card data, has bills and "
                "repayments only)" if demand == "orders" else "")
        raise TrainingDataError(
            f"capacity target: labels.capacity.demand={demand} needs the {name!r} table, which "
            f"is {state}{hint}; set labels.capacity.demand={other} to derive demand from "
            f"{'statements (bills and repayments)' if other == 'statements' else 'orders'}"
        )
    return table


def _ns(values: pd.Series) -> pd.Series:
    """Instants in one resolution (merge_asof needs equal dtypes on both sides)."""
    return pd.to_datetime(values, utc=True).dt.as_unit("ns")


def statement_new_charges(bills: pd.DataFrame, repayments: pd.DataFrame) -> pd.DataFrame:
    """Per bill (customer_id, at = statement_date, amount = new charges): ``amount_due`` less the
    part of the previous statement's balance still unpaid, floored at 0. Repayments count towards
    the statement whose date follows them (received in [previous, this statement_date)),
    whichever bill they were allocated to."""
    ordered = bills[["customer_id", "statement_date", "amount_due"]].copy()
    ordered["statement_date"] = _ns(ordered["statement_date"])
    ordered = ordered.sort_values(["customer_id", "statement_date"], kind="stable")
    ordered["position"] = np.arange(len(ordered))
    previous_due = ordered.groupby("customer_id", sort=False)["amount_due"].shift(1)

    paid = pd.Series(0.0, index=ordered["position"].to_numpy())
    if len(repayments):
        received = repayments[["customer_id", "repaid_at", "amount"]].copy()
        received["repaid_at"] = _ns(received["repaid_at"])
        received = received.sort_values("repaid_at", kind="stable")
        # the first statement strictly after each repayment: it closes [previous, this)
        matched = pd.merge_asof(
            received, ordered.sort_values("statement_date", kind="stable")[
                ["customer_id", "statement_date", "position"]],
            left_on="repaid_at", right_on="statement_date", by="customer_id",
            direction="forward", allow_exact_matches=False,
        ).dropna(subset=["position"])
        sums = matched.groupby(matched["position"].astype(np.int64))["amount"].sum()
        paid = paid.add(sums, fill_value=0.0)

    carried = previous_due - paid.reindex(ordered["position"].to_numpy()).to_numpy()
    charges = np.where(previous_due.isna(), ordered["amount_due"],
                       ordered["amount_due"] - carried)
    return pd.DataFrame({
        "customer_id": ordered["customer_id"].to_numpy(),
        "at": ordered["statement_date"].to_numpy(),
        "amount": np.maximum(np.asarray(charges, dtype="float64"), 0.0),
    })


def _demand_events(tables: Mapping[str, pd.DataFrame], definition: CapacityDefinition,
                   ) -> pd.DataFrame:
    if definition.demand == "orders":
        orders = _required_table(tables, "orders", definition.demand)
        demand = orders[["customer_id", "ordered_at", "amount"]].rename(
            columns={"ordered_at": "at"})
    else:
        bills = _required_table(tables, "bills", definition.demand)
        repayments = _required_table(tables, "repayments", definition.demand, allow_empty=True)
        demand = statement_new_charges(bills, repayments)
    declines = tables.get("declines")
    if definition.include_declined and declines is not None and len(declines):
        wanted = declines[declines["reason"] == "insufficient_limit"]
        declined = wanted[["customer_id", "declined_at", "amount"]].rename(
            columns={"declined_at": "at"})
        if definition.demand == "statements":
            demand["at"] = _ns(demand["at"])
            declined = declined.assign(at=_ns(declined["at"]))
        demand = pd.concat([demand, declined], ignore_index=True)
    return demand


def capacity_target(
    snapshots: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    definition: CapacityDefinition,
    extraction_date: pd.Timestamp,
) -> pd.Series:
    """Per snapshot row, the monthly-demand statistic over the ``months`` calendar months after
    as_of (a month with no demand counts as 0); missing when the window is not complete.

    ``tables``: the data set's tables by name; ``orders`` (demand=orders) or ``bills`` and
    ``repayments`` (demand=statements) are needed, ``declines`` is optional (declines for
    insufficient limit are added to either source when ``include_declined``). Point in time:
    only events at or after as_of and before as_of + months count.
    """
    demand = _demand_events(tables, definition)
    result = pd.Series(np.nan, index=snapshots.index, name="capacity_target")
    for as_of, group in snapshots.groupby("as_of", sort=True):
        end = as_of + pd.DateOffset(months=definition.months)
        if end > extraction_date:
            continue
        edges = pd.DatetimeIndex([as_of + pd.DateOffset(months=k)
                                  for k in range(definition.months + 1)])
        window = demand[(demand["at"] >= as_of) & (demand["at"] < end)
                        & demand["customer_id"].isin(group["customer_id"])]
        month = np.searchsorted(edges.as_unit("ns").asi8,
                                pd.DatetimeIndex(window["at"]).as_unit("ns").asi8,
                                side="right") - 1
        monthly = (
            window.assign(month=month).groupby(["customer_id", "month"])["amount"].sum()
            .unstack("month").reindex(index=group["customer_id"].unique(),
                                      columns=range(definition.months)).fillna(0.0)
        )
        if definition.statistic == "max":
            value = monthly.max(axis=1)
        elif definition.statistic == "mean":
            value = monthly.mean(axis=1)
        else:
            value = monthly.quantile(definition.quantile, axis=1)
        result.loc[group.index] = group["customer_id"].map(value).to_numpy()
    return result
