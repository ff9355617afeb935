"""The capacity target of the credit-limit model: how much a customer spends in a month, at the
peak (or a high percentile) of the months after the snapshot.

Demand, not only what was granted: orders declined for insufficient limit count as spend the
customer wanted (configurable), otherwise a customer held back by a small limit would teach the
model that they need little.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_models.errors import ConfigError

CAPACITY_STATISTICS = ("max", "quantile", "mean")


@dataclass(frozen=True)
class CapacityDefinition:
    months: int = 6
    statistic: str = "max"
    quantile: float = 0.9
    include_declined: bool = True

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


def capacity_target(
    snapshots: pd.DataFrame,
    orders: pd.DataFrame,
    declines: pd.DataFrame | None,
    definition: CapacityDefinition,
    extraction_date: pd.Timestamp,
) -> pd.Series:
    """Per snapshot row, the monthly-spend statistic over the ``months`` calendar months after
    as_of (a month with no spend counts as 0); missing when the window is not complete."""
    demand = orders[["customer_id", "ordered_at", "amount"]].rename(columns={"ordered_at": "at"})
    if definition.include_declined and declines is not None:
        wanted = declines[declines["reason"] == "insufficient_limit"]
        demand = pd.concat([
            demand,
            wanted[["customer_id", "declined_at", "amount"]].rename(columns={"declined_at": "at"}),
        ], ignore_index=True)
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
