"""Point-in-time window features over the event tables.

Every feature of a snapshot (customer, as_of) is computed from events dated strictly before as_of,
within a trailing window of N days. Empty windows give a count or sum of 0 and a missing mean, max
or ratio: never a silent 0 for a statistic that does not exist.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from credit_models.data.contract import ATTRIBUTE_PREFIX
from credit_models.labels.delinquency import bill_cure_times, days_past_due_at

logger = logging.getLogger(__name__)

SECONDS_PER_DAY = 86_400.0


def feature_name(source: str, column: str, aggregation: str, window_days: int | None = None) -> str:
    """The one naming scheme: ``source__column__aggregation__90d`` (window omitted if none)."""
    parts = [source, column, aggregation]
    if window_days is not None:
        parts.append(f"{window_days}d")
    return "__".join(parts)


@dataclass(frozen=True)
class FeatureMatrix:
    """Features per snapshot, aligned with the snapshots' row order, and what each one means."""

    frame: pd.DataFrame
    descriptions: dict[str, str]

    @property
    def feature_names(self) -> list[str]:
        return list(self.descriptions)


class _TimeSortedEvents:
    """An event table sorted by its time column, sliced by binary search for each window."""

    def __init__(self, frame: pd.DataFrame, time_column: str) -> None:
        self.frame = frame.sort_values(time_column, kind="stable").reset_index(drop=True)
        self.times = self.frame[time_column].dt.as_unit("ns").astype("int64").to_numpy()

    def window(self, as_of: pd.Timestamp, days: int | None) -> pd.DataFrame:
        """Events in [as_of − days, as_of): strictly before the snapshot."""
        end = np.searchsorted(self.times, as_of.as_unit("ns").value, side="left")
        start = 0 if days is None else np.searchsorted(
            self.times, (as_of - pd.Timedelta(days=days)).as_unit("ns").value, side="left"
        )
        return self.frame.iloc[start:end]


def _descriptions(windows: Sequence[int]) -> dict[str, str]:
    described: dict[str, str] = {}
    for days in windows:
        described.update({
            feature_name("orders", "order", "count", days): f"orders placed in the last {days} days",
            feature_name("orders", "amount", "sum", days): f"amount spent in the last {days} days",
            feature_name("orders", "amount", "mean", days): f"average order amount, last {days} days",
            feature_name("orders", "amount", "max", days): f"largest order, last {days} days",
            feature_name("orders", "instalment", "share", days):
                f"share of orders paid in instalments, last {days} days",
            feature_name("repayments", "amount", "sum", days): f"amount repaid in the last {days} days",
            feature_name("bills", "amount_due", "mean", days):
                f"average statement balance, last {days} days",
            feature_name("bills", "paid_to_due", "ratio", days):
                f"repaid / billed amount, last {days} days",
            feature_name("delinquency", "days_past_due", "max", days):
                f"worst days past due on bills due in the last {days} days",
            feature_name("delinquency", "late_bill", "count", days):
                f"bills paid late or still unpaid among those due in the last {days} days",
            feature_name("declines", "insufficient_limit", "count", days):
                f"orders declined for insufficient limit, last {days} days",
            feature_name("declines", "risk_rule", "count", days):
                f"orders declined by a risk rule, last {days} days",
            feature_name("limit", "raise", "count", days): f"limit raises in the last {days} days",
            feature_name("limit", "cut", "count", days): f"limit cuts in the last {days} days",
        })
    described.update({
        feature_name("delinquency", "days_past_due", "current"): "days past due at the snapshot",
        feature_name("bills", "amount_due", "last"): "balance on the latest statement",
        feature_name("bills", "utilisation", "last"): "latest statement balance / credit limit",
        feature_name("limit", "credit_limit", "last"): "credit limit in force at the snapshot",
        feature_name("customer", "tenure", "days"): "days since the credit line was opened",
    })
    return described


def build_window_features(
    tables: Mapping[str, pd.DataFrame],
    snapshots: pd.DataFrame,
    windows_days: Sequence[int],
    show_progress: bool = False,
) -> FeatureMatrix:
    """Features for every (customer_id, as_of) row of ``snapshots``, in the same row order."""
    windows = sorted(set(int(days) for days in windows_days))
    customers = tables["customers"].set_index("customer_id")
    orders = _TimeSortedEvents(
        tables["orders"].assign(is_instalment=tables["orders"]["instalment_months"] > 1),
        "ordered_at",
    )
    repayments = _TimeSortedEvents(tables["repayments"], "repaid_at")
    cured_bills = bill_cure_times(tables["bills"], tables["repayments"])
    bills = _TimeSortedEvents(cured_bills, "statement_date")
    bills_by_due = _TimeSortedEvents(cured_bills, "due_date")
    limits = _TimeSortedEvents(tables["limit_events"], "changed_at")
    declines_frame = tables.get("declines")
    declines = None if declines_frame is None else _TimeSortedEvents(declines_frame, "declined_at")

    started = time.perf_counter()
    pieces = []
    groups = snapshots.groupby("as_of", sort=True)
    for as_of, group in tqdm(groups, total=groups.ngroups, desc="features by snapshot",
                             disable=not show_progress, unit="snapshot"):
        ids = pd.Index(group["customer_id"].to_numpy(), name="customer_id")
        columns: dict[str, pd.Series] = {}
        for days in windows:
            window_orders = orders.window(as_of, days).groupby("customer_id")
            columns[feature_name("orders", "order", "count", days)] = window_orders.size()
            columns[feature_name("orders", "amount", "sum", days)] = window_orders["amount"].sum()
            columns[feature_name("orders", "amount", "mean", days)] = window_orders["amount"].mean()
            columns[feature_name("orders", "amount", "max", days)] = window_orders["amount"].max()
            columns[feature_name("orders", "instalment", "share", days)] = (
                window_orders["is_instalment"].mean()
            )
            repaid = repayments.window(as_of, days).groupby("customer_id")["amount"].sum()
            columns[feature_name("repayments", "amount", "sum", days)] = repaid
            billed = bills.window(as_of, days).groupby("customer_id")["amount_due"]
            columns[feature_name("bills", "amount_due", "mean", days)] = billed.mean()
            billed_total = billed.sum()
            columns[feature_name("bills", "paid_to_due", "ratio", days)] = (
                repaid.reindex(billed_total.index).fillna(0.0)
                / billed_total.where(billed_total > 0)
            )
            due = bills_by_due.window(as_of, days)
            paid_at = due["cured_at"].where(due["cured_at"] < as_of, as_of)
            days_late = ((paid_at - due["due_date"]).dt.total_seconds() / SECONDS_PER_DAY).clip(
                lower=0.0
            )
            columns[feature_name("delinquency", "days_past_due", "max", days)] = (
                days_late.groupby(due["customer_id"]).max()
            )
            columns[feature_name("delinquency", "late_bill", "count", days)] = (
                (days_late > 0).groupby(due["customer_id"]).sum()
            )
            if declines is not None:
                window_declines = declines.window(as_of, days)
                for reason in ("insufficient_limit", "risk_rule"):
                    columns[feature_name("declines", reason, "count", days)] = (
                        window_declines.loc[window_declines["reason"] == reason]
                        .groupby("customer_id").size()
                    )
            window_limits = limits.window(as_of, days)
            for label, reasons in (("raise", ("periodic_raise",)), ("cut", ("risk_cut",))):
                columns[feature_name("limit", label, "count", days)] = (
                    window_limits.loc[window_limits["reason"].isin(reasons)]
                    .groupby("customer_id").size()
                )
        columns[feature_name("delinquency", "days_past_due", "current")] = days_past_due_at(
            cured_bills, as_of
        )
        latest_bill = bills.window(as_of, None).groupby("customer_id").last()
        columns[feature_name("bills", "amount_due", "last")] = latest_bill["amount_due"]
        columns[feature_name("bills", "utilisation", "last")] = latest_bill["amount_due"] / (
            latest_bill["credit_limit"].where(latest_bill["credit_limit"] > 0)
        )
        columns[feature_name("limit", "credit_limit", "last")] = (
            limits.window(as_of, None).groupby("customer_id")["new_limit"].last()
        )
        columns[feature_name("customer", "tenure", "days")] = (
            (as_of - customers["signed_up_at"]).dt.total_seconds() / SECONDS_PER_DAY
        )
        frame = pd.DataFrame({name: series.reindex(ids) for name, series in columns.items()})
        frame = frame.reset_index().assign(as_of=as_of).set_index(group.index)
        pieces.append(frame)

    descriptions = _descriptions(windows)
    if declines is None:
        descriptions = {k: v for k, v in descriptions.items() if not k.startswith("declines__")}
    attributes = [c for c in customers.columns if str(c).startswith(ATTRIBUTE_PREFIX)]
    result = pd.concat(pieces).loc[snapshots.index] if pieces else snapshots.copy()
    for name in attributes:
        values = result["customer_id"].map(customers[name])
        if not pd.api.types.is_numeric_dtype(values):
            values = values.astype("category")
        feature = feature_name("customer", name.removeprefix(ATTRIBUTE_PREFIX), "value")
        result[feature] = values.to_numpy()
        descriptions[feature] = f"application attribute {name.removeprefix(ATTRIBUTE_PREFIX)}"
    result = _fill_empty_counts(result, descriptions)
    logger.info(
        "built %d features for %d snapshots in %.1fs", len(descriptions), len(result),
        time.perf_counter() - started,
    )
    ordered = ["customer_id", "as_of", *descriptions]
    return FeatureMatrix(frame=result[ordered], descriptions=descriptions)


def _fill_empty_counts(frame: pd.DataFrame, descriptions: Mapping[str, str]) -> pd.DataFrame:
    """An empty window has a count and a sum of zero; means, maxima and ratios stay missing."""
    zero_when_empty = [
        name for name in descriptions
        if name.split("__")[2] in {"count", "sum"} and name in frame.columns
    ]
    filled = frame[zero_when_empty].fillna(0.0)
    return frame.assign(**{name: filled[name] for name in zero_when_empty})
