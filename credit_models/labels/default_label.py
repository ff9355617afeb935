"""The default label: bad = ever N+ days past due within M months after the snapshot.

Only events in the performance window (as_of, as_of + M months] decide whether a snapshot is bad.
Snapshots that are not labelled keep a status saying why, so that counts are reported and never
silently dropped:

- already N+ days past due at as_of (the outcome is known before the window starts);
- the window is not complete before the extraction date;
- inactive before as_of (no statement with a balance and no order in the last K months), when the
  policy excludes them: a model should not be judged on accounts that cannot default;
- indeterminate (worst DPD in the window between the indeterminate threshold and N), excluded or
  counted as good by policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import pandas as pd

from credit_models.errors import ConfigError, enum_choice
from credit_models.labels.capacity_target import CapacityDefinition
from credit_models.labels.delinquency import bad_event_times, bill_cure_times, days_past_due_at

LABELLED = "labelled"
EXCLUDED_ALREADY_BAD = "excluded_already_bad"
EXCLUDED_INCOMPLETE_WINDOW = "excluded_incomplete_window"
EXCLUDED_INACTIVE = "excluded_inactive"
EXCLUDED_INDETERMINATE = "excluded_indeterminate"
LABEL_STATUSES = (
    LABELLED, EXCLUDED_ALREADY_BAD, EXCLUDED_INCOMPLETE_WINDOW, EXCLUDED_INACTIVE,
    EXCLUDED_INDETERMINATE,
)
INDETERMINATE_POLICIES = ("exclude", "good")
SECONDS_PER_DAY = 86_400.0


class LabelSource(str, Enum):
    events = "events"
    table = "table"


@dataclass(frozen=True)
class DefaultDefinition:
    """Which delinquency counts as default, for how long after as_of it is watched, and which
    snapshots are not fit to be labelled: ``conf/labels/*.yaml`` (with the credit-limit model's
    capacity target, ``labels.capacity``)."""

    bad_days_past_due: int = 30
    performance_months: int = 6
    indeterminate_days_past_due: int | None = None
    """Worst DPD in the window from this value up to ``bad_days_past_due`` is indeterminate."""
    indeterminate_policy: str = "exclude"
    inactive_months: int | None = None
    """Exclude snapshots with no balance-carrying statement and no order in these months."""
    source: LabelSource = LabelSource.events
    """events: derived from bills and repayments; table: the data set's own ``labels`` table."""
    capacity: CapacityDefinition = field(default_factory=CapacityDefinition)

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", enum_choice(LabelSource, self.source, "labels.source"))
        if self.bad_days_past_due < 1:
            raise ConfigError(f"labels.bad_days_past_due must be >= 1; got {self.bad_days_past_due}")
        if self.performance_months < 1:
            raise ConfigError(
                f"labels.performance_months must be >= 1; got {self.performance_months}"
            )
        threshold = self.indeterminate_days_past_due
        if threshold is not None and not 1 <= threshold < self.bad_days_past_due:
            raise ConfigError(
                "labels.indeterminate_days_past_due must be in [1, bad_days_past_due="
                f"{self.bad_days_past_due}); got {threshold}"
            )
        if self.indeterminate_policy not in INDETERMINATE_POLICIES:
            raise ConfigError(
                f"labels.indeterminate_policy must be one of {list(INDETERMINATE_POLICIES)}; "
                f"got {self.indeterminate_policy!r}"
            )
        if self.inactive_months is not None and self.inactive_months < 1:
            raise ConfigError(f"labels.inactive_months must be >= 1; got {self.inactive_months}")

    @property
    def name(self) -> str:
        return f"dpd{self.bad_days_past_due}_{self.performance_months}m"

    def window_end(self, as_of: pd.Timestamp) -> pd.Timestamp:
        return as_of + pd.DateOffset(months=self.performance_months)


def _worst_days_past_due_in_window(
    cured: pd.DataFrame, as_of: pd.Timestamp, window_end: pd.Timestamp
) -> pd.Series:
    """Per customer, the highest DPD any bill reaches inside (as_of, window_end]."""
    overdue_in_window = cured[
        (cured["due_date"] < window_end)
        & (cured["cured_at"].isna() | (cured["cured_at"] > cured["due_date"].clip(lower=as_of)))
    ]
    until = overdue_in_window["cured_at"].fillna(window_end).clip(upper=window_end)
    days = (until - overdue_in_window["due_date"]).dt.total_seconds() / SECONDS_PER_DAY
    return days.groupby(overdue_in_window["customer_id"]).max()


def _active_customers(
    bills: pd.DataFrame, orders: pd.DataFrame | None, as_of: pd.Timestamp, months: int
) -> np.ndarray:
    start = as_of - pd.DateOffset(months=months)
    with_balance = bills[
        (bills["statement_date"] >= start) & (bills["statement_date"] < as_of)
        & (bills["amount_due"] > 0)
    ]["customer_id"]
    active = [with_balance.to_numpy()]
    if orders is not None:
        recent = orders[(orders["ordered_at"] >= start) & (orders["ordered_at"] < as_of)]
        active.append(recent["customer_id"].to_numpy())
    return np.unique(np.concatenate(active))


def label_default(
    snapshots: pd.DataFrame,
    bills: pd.DataFrame,
    repayments: pd.DataFrame,
    definition: DefaultDefinition,
    extraction_date: pd.Timestamp,
    orders: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Label every (customer_id, as_of) snapshot.

    Returns the snapshots with ``is_bad`` (nullable boolean: missing unless labelled),
    ``status`` (one of :data:`LABEL_STATUSES`) and ``is_indeterminate``, in the input order.
    """
    cured = bill_cure_times(bills, repayments)
    cured = cured.assign(bad_at=bad_event_times(cured, definition.bad_days_past_due))
    pieces = []
    for as_of, group in snapshots.groupby("as_of", sort=True):
        window_end = definition.window_end(as_of)
        in_window = cured[(cured["bad_at"] > as_of) & (cured["bad_at"] <= window_end)]
        goes_bad = group["customer_id"].isin(in_window["customer_id"])
        current_dpd = group["customer_id"].map(days_past_due_at(cured, as_of)).fillna(0.0)
        indeterminate = pd.Series(False, index=group.index)
        if definition.indeterminate_days_past_due is not None:
            worst = group["customer_id"].map(
                _worst_days_past_due_in_window(cured, as_of, window_end)
            ).fillna(0.0)
            indeterminate = ~goes_bad & (worst >= definition.indeterminate_days_past_due)
        status = pd.Series(LABELLED, index=group.index, dtype="str")
        if definition.inactive_months is not None:
            active = _active_customers(bills, orders, as_of, definition.inactive_months)
            status[~group["customer_id"].isin(active)] = EXCLUDED_INACTIVE
        if definition.indeterminate_policy == "exclude":
            status[indeterminate & (status == LABELLED)] = EXCLUDED_INDETERMINATE
        if window_end > extraction_date:
            status[:] = EXCLUDED_INCOMPLETE_WINDOW
        status[current_dpd >= definition.bad_days_past_due] = EXCLUDED_ALREADY_BAD
        is_bad = goes_bad.astype("boolean").where(status == LABELLED)
        pieces.append(group.assign(is_bad=is_bad, status=status, is_indeterminate=indeterminate))
    if not pieces:
        return snapshots.assign(
            is_bad=pd.Series(dtype="boolean"), status=pd.Series(dtype="str"),
            is_indeterminate=pd.Series(dtype="bool"),
        )
    return pd.concat(pieces).loc[snapshots.index]


def label_summary(labels: pd.DataFrame) -> pd.DataFrame:
    """Counts per as_of and status, with the bad rate of labelled rows: the label report."""
    counts = labels.pivot_table(
        index="as_of", columns="status", values="customer_id", aggfunc="count", fill_value=0
    ).reindex(columns=list(LABEL_STATUSES), fill_value=0)
    labelled = labels[labels["status"] == LABELLED]
    counts["bads"] = labelled.groupby("as_of")["is_bad"].sum().reindex(counts.index).fillna(0)
    counts["bad_rate"] = (counts["bads"] / counts[LABELLED].where(counts[LABELLED] > 0)).round(5)
    return counts.reset_index()
