"""The validation report's "Performance by segment" section: the customers a PD model tends to
misjudge (new and thin-file customers, and those without an external bureau score, derived from
the feature matrix) and any configured segment, each value with its own ranking and calibration on
the test split."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_models.evaluation.metrics import metrics_by_group
from credit_models.features.spec import TENURE, feature_name
from credit_models.reporting import columns
from credit_models.reporting import html as page
from credit_models.reporting.plots import segment_bars

NEW_CUSTOMER_DAYS = 180
"""A customer whose credit line is younger than this at the snapshot is a new customer."""
THIN_FILE_FEATURE = "orders__order__count__365d"
THIN_FILE_MAX_ORDERS = 3
"""A customer with at most this many orders in the 365 days before the snapshot is thin-file."""
BUREAU_SCORE_FEATURE = feature_name("customer", "bureau_score", "value", None)
"""The static feature of ``customers.attr_bureau_score`` (another lender's score; missing when the
bureau has no file on the customer)."""
UNKNOWN = "unknown"
"""The segment value of a row whose defining value is missing."""


def standard_segments(
    features: pd.DataFrame, *, tenure_feature: str = TENURE,
    new_customer_days: int = NEW_CUSTOMER_DAYS, activity_feature: str = THIN_FILE_FEATURE,
    thin_file_max_orders: int = THIN_FILE_MAX_ORDERS,
    bureau_feature: str = BUREAU_SCORE_FEATURE,
) -> dict[str, pd.Series]:
    """The segments every validation reports separately, from the feature matrix:

    - ``new customers``: credit line younger than ``new_customer_days`` at the snapshot
      (``tenure_feature``, in days);
    - ``thin file``: at most ``thin_file_max_orders`` orders in the year before the snapshot
      (``activity_feature``);
    - ``bureau score``: with or without an external bureau score (``bureau_feature``): a score
      that is missing is the segment, not an unknown value; models lean on the score and tend to
      misjudge the customers who lack it.

    A segment whose feature is absent is left out; a missing value of the other segments is
    labelled ``"unknown"``.
    """
    segments: dict[str, pd.Series] = {}
    if tenure_feature in features:
        tenure = features[tenure_feature].reset_index(drop=True).astype(float)
        segments["new customers"] = _two_way(
            tenure < new_customer_days, tenure.isna(),
            f"new (< {new_customer_days} days)", f"established (≥ {new_customer_days} days)",
        )
    if activity_feature in features:
        orders = features[activity_feature].reset_index(drop=True).astype(float)
        segments["thin file"] = _two_way(
            orders <= thin_file_max_orders, orders.isna(),
            f"thin (≤ {thin_file_max_orders} orders/yr)",
            f"thick (> {thin_file_max_orders} orders/yr)",
        )
    if bureau_feature in features:
        score = features[bureau_feature].reset_index(drop=True).astype(float)
        segments["bureau score"] = _two_way(
            score.notna(), pd.Series(False, index=score.index),
            "with bureau score", "without bureau score",
        )
    return segments


def _two_way(condition: pd.Series, unknown: pd.Series, yes: str, no: str) -> pd.Series:
    labels = pd.Series(np.where(condition, yes, no), dtype="str")
    labels[unknown.to_numpy()] = UNKNOWN
    return labels


_COLUMNS = (
    page.Column("segment", "Segment", numeric=False),
    page.Column("group", "Value", numeric=False),
    columns.ROWS,
    columns.SHARE,
    *columns.OUTCOMES,
    *columns.GROUP_PERFORMANCE,
)


@dataclass(frozen=True)
class SegmentPerformance:
    """The test split's metrics by segment value, computed once for the segment section and the
    limitations: ``table`` has ``segment``, ``group`` (the value), rows, share, outcomes, AUC, KS
    and ECE (``None`` when no segment could be formed); ``missing`` says which standard segment
    could not be formed, and why."""

    table: pd.DataFrame | None
    missing: tuple[str, ...] = ()


def segment_performance(
    test: pd.DataFrame, in_test: np.ndarray, features: pd.DataFrame | None,
    segments: Mapping[str, pd.Series], bins: int,
) -> SegmentPerformance:
    """Metrics of ``test`` (the test split's scored rows, ``is_bad`` and ``probability``) by each
    value of the standard segments of ``features`` and of ``segments``. ``features`` and
    ``segments`` cover every scored row (positional index); ``in_test`` marks the test rows
    among them."""
    standard = standard_segments(features) if features is not None else {}
    every = {**standard, **segments}
    missing = []
    if "new customers" not in standard:
        missing.append(f"new customers need the feature {TENURE}")
    if "thin file" not in standard:
        missing.append(f"thin-file customers need the feature {THIN_FILE_FEATURE}")
    if not every:
        return SegmentPerformance(None, tuple(missing))
    tables = []
    for name, labels in every.items():
        values = labels.reset_index(drop=True)[in_test]
        values = values.astype(object).where(values.notna(), UNKNOWN).astype(str)
        table = metrics_by_group(test["is_bad"], test["probability"], values, bins)
        table.insert(0, "segment", name)
        table["share"] = table["rows"] / len(test)
        tables.append(table)
    return SegmentPerformance(pd.concat(tables, ignore_index=True), tuple(missing))


def segments_section_body(performance: SegmentPerformance, split_name: str) -> str:
    """The section's content: how to read it, the table of :func:`segment_performance` and its
    plot, and which standard segment could not be formed."""
    combined = performance.table
    if combined is None:
        return page.note("No segment could be formed: " + "; ".join(performance.missing) + ".")
    parts = [
        page.explained_table(
            f"{split_name} metrics for each segment value. Models tend to misjudge "
            "thin-file and new customers: compare their AUC with the rest and their mean PD "
            "with their bad rate. A segment with only goods or only bads has no AUC or KS (–).",
            combined, _COLUMNS,
            page.figure(
                segment_bars(combined, title=f"Performance by segment ({split_name})"),
                "Performance by segment",
                "Left: AUC per segment value (the dotted line is a random score). Right: "
                "observed bad rate against mean predicted PD; a calibrated model gives bars of "
                "equal length.",
            ),
        ),
    ]
    if performance.missing:
        parts.append(page.note("Not shown: " + "; ".join(performance.missing) + "."))
    return "".join(parts)
