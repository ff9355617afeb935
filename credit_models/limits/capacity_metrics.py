"""How good the capacity model's quantiles are: pinball loss and coverage per quantile level,
and the median's percentage error, overall and by segment."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_percentage_error, mean_pinball_loss

ALL_SEGMENT = "all"
MISSING_SEGMENT = "missing"


def quantile_column(level: float) -> str:
    """The column holding the predicted ``level`` quantile, e.g. 0.9 -> ``capacity_q90``."""
    return f"capacity_q{round(level * 100)}"


def median_level(levels: Sequence[float]) -> float:
    """The level closest to 0.5: the one that stands for the median."""
    return float(min(levels, key=lambda level: (abs(level - 0.5), level)))


def capacity_metrics(
    y_true: pd.Series | np.ndarray,
    quantiles: pd.DataFrame,
    levels: Sequence[float],
    min_target_for_mape: float = 100.0,
) -> dict[str, float]:
    """Per level q (named as in :func:`quantile_column`, e.g. ``_q50``):

    * ``pinball_q50``: the mean pinball (quantile) loss at q, the loss the model minimises;
    * ``coverage_q50``: the share of rows whose target is at most the predicted quantile, which
      should be close to q;

    and ``mape_q50``, the mean absolute percentage error of the median (the level closest to
    0.5), on the rows whose target is at least ``min_target_for_mape`` only (their count is
    ``mape_rows``): a percentage error is meaningless near 0 (a target of 1 predicted as 20 is a
    1,900 % error, and a target of 0 an infinite one), and a capacity near 0 carries no limit
    decision anyway. ``rows``: the number of rows. Metrics of no rows are NaN.
    """
    if not levels:
        raise ValueError("capacity metrics need at least one quantile level")
    target = np.asarray(y_true, dtype="float64")
    if len(target) != len(quantiles):
        raise ValueError(f"capacity metrics: {len(target)} targets but {len(quantiles)} rows of "
                         f"predicted quantiles")
    missing_target = int(np.isnan(target).sum())
    if missing_target:
        raise ValueError(f"capacity metrics: {missing_target} target(s) are missing; evaluate "
                         f"rows with a complete target window only")
    absent = [quantile_column(level) for level in levels
              if quantile_column(level) not in quantiles.columns]
    if absent:
        raise ValueError(f"capacity metrics: the predicted quantiles lack {absent}; got columns "
                         f"{list(quantiles.columns)}")
    result: dict[str, float] = {"rows": float(len(target))}
    for level in levels:
        suffix = quantile_column(level).removeprefix("capacity_")
        predicted = quantiles[quantile_column(level)].to_numpy(dtype="float64")
        if len(target):
            result[f"pinball_{suffix}"] = float(mean_pinball_loss(target, predicted, alpha=level))
            result[f"coverage_{suffix}"] = float(np.mean(target <= predicted))
        else:
            result[f"pinball_{suffix}"] = result[f"coverage_{suffix}"] = float("nan")
    median = median_level(levels)
    suffix = quantile_column(median).removeprefix("capacity_")
    large = target >= min_target_for_mape
    predicted = quantiles[quantile_column(median)].to_numpy(dtype="float64")
    result[f"mape_{suffix}"] = (
        float(mean_absolute_percentage_error(target[large], predicted[large])) if large.any()
        else float("nan")
    )
    result["mape_rows"] = float(large.sum())
    return result


def capacity_metrics_by_segment(
    y_true: pd.Series | np.ndarray,
    quantiles: pd.DataFrame,
    levels: Sequence[float],
    segments: pd.Series,
    min_target_for_mape: float = 100.0,
) -> pd.DataFrame:
    """:func:`capacity_metrics` for all rows (segment ``all``, first) and for each value of
    ``segments`` (missing values form a segment of their own); one row per segment, indexed by
    the segment's value as text, with its row count in ``rows``."""
    values = np.asarray(segments, dtype=object)
    if len(values) != len(quantiles):
        raise ValueError(f"capacity metrics: {len(values)} segment values but {len(quantiles)} "
                         f"rows of predicted quantiles")
    target = np.asarray(y_true, dtype="float64")
    labels = pd.Series(values).astype(object)
    labels = labels.where(labels.notna(), MISSING_SEGMENT).astype(str).to_numpy()
    rows = {ALL_SEGMENT: capacity_metrics(target, quantiles, levels, min_target_for_mape)}
    for label in sorted(set(labels) - {ALL_SEGMENT}):
        chosen = labels == label
        rows[label] = capacity_metrics(target[chosen], quantiles.iloc[np.flatnonzero(chosen)],
                                       levels, min_target_for_mape)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "segment"
    return table.astype({"rows": "int64", "mape_rows": "int64"})
