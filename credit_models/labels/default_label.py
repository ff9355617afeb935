"""The default label: bad = ever N+ days past due within M months after the snapshot.

Only events in the performance window (as_of, as_of + M months] decide the label. Snapshots that
cannot be labelled are kept with a status saying why (already bad at as_of, window not complete
before the extraction date) so that counts are reported, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from credit_models.errors import ConfigError
from credit_models.labels.delinquency import bad_event_times, bill_cure_times, days_past_due_at

LABELLED = "labelled"
EXCLUDED_ALREADY_BAD = "excluded_already_bad"
EXCLUDED_INCOMPLETE_WINDOW = "excluded_incomplete_window"
LABEL_STATUSES = (LABELLED, EXCLUDED_ALREADY_BAD, EXCLUDED_INCOMPLETE_WINDOW)


@dataclass(frozen=True)
class DefaultDefinition:
    """Which delinquency counts as default, and for how long after as_of it is watched."""

    bad_days_past_due: int = 30
    performance_months: int = 6

    def __post_init__(self) -> None:
        if self.bad_days_past_due < 1:
            raise ConfigError(f"labels.bad_days_past_due must be >= 1; got {self.bad_days_past_due}")
        if self.performance_months < 1:
            raise ConfigError(
                f"labels.performance_months must be >= 1; got {self.performance_months}"
            )

    @property
    def name(self) -> str:
        return f"dpd{self.bad_days_past_due}_{self.performance_months}m"

    def window_end(self, as_of: pd.Timestamp) -> pd.Timestamp:
        return as_of + pd.DateOffset(months=self.performance_months)


def label_default(
    snapshots: pd.DataFrame,
    bills: pd.DataFrame,
    repayments: pd.DataFrame,
    definition: DefaultDefinition,
    extraction_date: pd.Timestamp,
) -> pd.DataFrame:
    """Label every (customer_id, as_of) snapshot.

    Returns the snapshots with ``is_bad`` (nullable boolean: missing unless labelled) and
    ``status`` (one of :data:`LABEL_STATUSES`), in the input order.
    """
    cured = bill_cure_times(bills, repayments)
    cured = cured.assign(bad_at=bad_event_times(cured, definition.bad_days_past_due))
    pieces = []
    for as_of, group in snapshots.groupby("as_of", sort=True):
        window_end = definition.window_end(as_of)
        current_dpd = days_past_due_at(cured, as_of)
        in_window = cured[(cured["bad_at"] > as_of) & (cured["bad_at"] <= window_end)]
        goes_bad = group["customer_id"].isin(in_window["customer_id"])
        already_bad = (
            group["customer_id"].map(current_dpd).fillna(0.0) >= definition.bad_days_past_due
        )
        status = pd.Series(LABELLED, index=group.index, dtype="str")
        if window_end > extraction_date:
            status[:] = EXCLUDED_INCOMPLETE_WINDOW
        status[already_bad] = EXCLUDED_ALREADY_BAD
        is_bad = goes_bad.astype("boolean").where(status == LABELLED)
        pieces.append(group.assign(is_bad=is_bad, status=status))
    if not pieces:
        return snapshots.assign(
            is_bad=pd.Series(dtype="boolean"), status=pd.Series(dtype="str")
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
