"""Monitoring a PD model in use: is a new batch still like the data the model was developed on, and
— once its labels have matured — does the model still rank and calibrate as it did?

A new batch is compared with the reference sample (the training run's development rows) on:

* ``score_psi``: the PSI of the model's score, reference bins (deciles) against the batch;
* ``feature_csi``: the CSI of every model feature (the PSI of its own distribution);
* ``missing_rate_increase``: the rise of every feature's share of missing values (a feed that
  breaks shows here first, often before the CSI moves);
* with labels, per month of ``as_of``: ``auc_drop`` (the training run's test AUC minus the
  month's AUC) and ``auc_minimum`` (the month's AUC against a floor), next to KS and ECE.

Each check is one row of a table (``check``, ``subject``, ``value``, ``threshold``, ``status``):
``alert`` when the value crosses its threshold (above it; below it for ``auc_minimum``), ``ok``
otherwise. The plots and the HTML page of a result are
:mod:`credit_models.reporting.monitoring_report`'s. The module takes DataFrames and arrays and knows
nothing of the experiment tracker, the config system or how a result is shown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from credit_models.evaluation.metrics import (
    characteristic_stability,
    metrics_by_group,
    stability_table,
)

OK, ALERT = "ok", "alert"
CHECK_COLUMNS = ("check", "subject", "value", "threshold", "status")
CHECK_DESCRIPTIONS = {
    "score_psi": "PSI of the score, reference against batch; alert above the threshold",
    "feature_csi": "CSI of a model feature; alert above the threshold",
    "missing_rate_increase": "rise of a feature's missing share (batch − reference); alert above "
                             "the threshold",
    "auc_drop": "reference test AUC minus the month's AUC; alert above the threshold",
    "auc_minimum": "the month's AUC; alert below the threshold",
}
ALL_MONTHS = "all"
"""The ``month`` of the performance row computed on every labelled row of the batch."""


@dataclass(frozen=True)
class MonitoringThresholds:
    """When a check is an alert; ``None`` switches an AUC check off."""

    max_score_psi: float = 0.25
    max_feature_csi: float = 0.25
    max_missing_rate_increase: float = 0.10
    min_auc: float | None = None
    max_auc_drop: float | None = 0.05
    bins: int = 10

    def __post_init__(self) -> None:
        for key, value, rule, ok in (
            ("max_score_psi", self.max_score_psi, "a number > 0", _positive),
            ("max_feature_csi", self.max_feature_csi, "a number > 0", _positive),
            ("max_missing_rate_increase", self.max_missing_rate_increase, "a number in (0, 1]",
             lambda v: _positive(v) and v <= 1),
            ("min_auc", self.min_auc, "null or a number in [0, 1]",
             lambda v: v is None or (_number_like(v) and 0 <= v <= 1)),
            ("max_auc_drop", self.max_auc_drop, "null or a number in [0, 1]",
             lambda v: v is None or (_number_like(v) and 0 <= v <= 1)),
            ("bins", self.bins, "an integer >= 2",
             lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 2),
        ):
            if not ok(value):
                raise ValueError(f"{key} must be {rule}; got {value!r}.")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MonitoringThresholds:
        """The threshold fields of ``config`` (other keys, e.g. ``reference_split``, ignored)."""
        names = cls.__dataclass_fields__
        return cls(**{key: value for key, value in config.items() if key in names})


def _number_like(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _positive(value: Any) -> bool:
    return _number_like(value) and value > 0


# ---------------------------------------------------------------------------------------------
# The measurements
# ---------------------------------------------------------------------------------------------


def missing_rates(
    reference: pd.DataFrame, current: pd.DataFrame, features: Sequence[str]
) -> pd.DataFrame:
    """Share of missing values of each feature in both samples: ``feature``,
    ``reference_missing_rate``, ``current_missing_rate``, ``missing_rate_increase`` (current −
    reference; negative when the batch is more complete)."""
    absent = [name for name in features if name not in reference or name not in current]
    if absent:
        raise ValueError(f"missing rates: feature(s) absent from the frames: {absent[:10]}")
    table = pd.DataFrame({
        "feature": list(features),
        "reference_missing_rate": [float(reference[name].isna().mean()) for name in features],
        "current_missing_rate": [float(current[name].isna().mean()) for name in features],
    })
    table["missing_rate_increase"] = (
        table["current_missing_rate"] - table["reference_missing_rate"]
    )
    return table


def feature_drift(
    reference: pd.DataFrame, current: pd.DataFrame, features: Sequence[str], bins: int = 10
) -> pd.DataFrame:
    """CSI and missing rates of every feature, in the order given: ``feature``, ``kind``,
    ``bins``, ``csi``, ``reference_missing_rate``, ``current_missing_rate``,
    ``missing_rate_increase``."""
    if len(reference) == 0 or len(current) == 0:
        raise ValueError(
            f"feature drift needs two non-empty samples; got {len(reference)} reference and "
            f"{len(current)} current rows"
        )
    stability = characteristic_stability(reference, current, features, bins)
    return stability.drop(columns="status").merge(
        missing_rates(reference, current, features), on="feature", how="left"
    )


def month_labels(as_of: ArrayLike) -> np.ndarray:
    """``YYYY-MM`` of each date (timestamps, dates or ISO strings); missing dates ``unknown``."""
    values = pd.Series(as_of)
    if not isinstance(values.dtype, pd.DatetimeTZDtype) \
            and not pd.api.types.is_datetime64_any_dtype(values.dtype):
        values = pd.to_datetime(values, utc=True, errors="raise")
    return values.dt.strftime("%Y-%m").fillna("unknown").to_numpy(dtype=object)


def performance_by_month(
    is_bad: ArrayLike, probability: ArrayLike, as_of: ArrayLike, bins: int = 10
) -> pd.DataFrame:
    """Ranking and calibration of the labelled rows per month of ``as_of``, then the row
    ``month="all"`` over every labelled row. Rows whose label is missing (not yet matured) are left
    out; AUC and KS are NaN in a month with one class. Columns: ``month``, ``rows``, ``bads``,
    ``bad_rate``, ``mean_probability``, ``auc``, ``gini``, ``ks``, ``log_loss``, ``brier``,
    ``ece``."""
    labels = pd.Series(is_bad).reset_index(drop=True)
    probabilities = np.asarray(probability, dtype=float)
    months = month_labels(as_of)
    if not len(labels) == len(probabilities) == len(months):
        raise ValueError(
            f"is_bad, probability and as_of must have one value per row; got {len(labels)}, "
            f"{len(probabilities)} and {len(months)}"
        )
    known = labels.notna().to_numpy()
    if not known.any():
        raise ValueError("performance by month needs labelled rows; every is_bad is missing")
    labels, probabilities, months = labels[known], probabilities[known], months[known]
    if labels.dtype == object:      # booleans or 0/1 that had missing values (Parquet nulls)
        try:
            labels = labels.astype("float64")
        except (TypeError, ValueError):
            raise ValueError(
                f"is_bad must be boolean or 0/1; got values such as {labels.unique()[:5]}"
            ) from None
    by_month = metrics_by_group(labels, probabilities, months, bins)
    overall = metrics_by_group(labels, probabilities, np.full(len(labels), ALL_MONTHS), bins)
    return pd.concat([by_month, overall], ignore_index=True).rename(columns={"group": "month"})


def _check(check: str, subject: str, value: float, threshold: float, *,
           below: bool = False) -> dict[str, Any]:
    crossed = value < threshold if below else value > threshold
    return {"check": check, "subject": subject, "value": float(value),
            "threshold": float(threshold), "status": ALERT if crossed else OK}


def monitoring_checks(
    score_psi: float,
    drift: pd.DataFrame,
    thresholds: MonitoringThresholds,
    performance: pd.DataFrame | None = None,
    reference_auc: float | None = None,
) -> pd.DataFrame:
    """One row per check (:data:`CHECK_COLUMNS`), in the order score, features (CSI, then missing
    rates, each in the order of ``drift``), then months. Months whose AUC is undefined (one
    class) get no AUC check; ``auc_drop`` needs ``reference_auc``."""
    rows = [_check("score_psi", "score", score_psi, thresholds.max_score_psi)]
    rows += [_check("feature_csi", name, value, thresholds.max_feature_csi)
             for name, value in zip(drift["feature"], drift["csi"], strict=True)]
    rows += [_check("missing_rate_increase", name, value, thresholds.max_missing_rate_increase)
             for name, value in zip(drift["feature"], drift["missing_rate_increase"], strict=True)]
    if performance is not None:
        months = performance[(performance["month"] != ALL_MONTHS) & performance["auc"].notna()]
        for month, auc in zip(months["month"], months["auc"], strict=True):
            if thresholds.max_auc_drop is not None and reference_auc is not None:
                rows.append(_check("auc_drop", str(month), reference_auc - auc,
                                   thresholds.max_auc_drop))
            if thresholds.min_auc is not None:
                rows.append(_check("auc_minimum", str(month), auc, thresholds.min_auc, below=True))
    return pd.DataFrame(rows, columns=list(CHECK_COLUMNS))


@dataclass(frozen=True)
class MonitoringResult:
    """Everything a monitoring run found; ``checks`` is the verdict, the rest the evidence."""

    checks: pd.DataFrame
    score_stability: pd.DataFrame
    drift: pd.DataFrame
    performance: pd.DataFrame | None
    reference_rows: int
    current_rows: int
    reference_auc: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def score_psi(self) -> float:
        return float(self.score_stability["psi"].sum())

    @property
    def alerts(self) -> pd.DataFrame:
        return self.checks[self.checks["status"] == ALERT].reset_index(drop=True)

    def metrics(self) -> dict[str, float]:
        """Headline numbers for an experiment tracker (``monitor/…``)."""
        values = {
            "monitor/score_psi": self.score_psi,
            "monitor/max_feature_csi": float(self.drift["csi"].max()),
            "monitor/max_missing_rate_increase": float(self.drift["missing_rate_increase"].max()),
            "monitor/alerts": float(len(self.alerts)),
            "monitor/rows": float(self.current_rows),
            "monitor/reference_rows": float(self.reference_rows),
        }
        if self.performance is not None:
            overall = self.performance[self.performance["month"] == ALL_MONTHS].iloc[0]
            for name in ("auc", "ks", "ece", "bad_rate", "mean_probability"):
                if not pd.isna(overall[name]):
                    values[f"monitor/{name}"] = float(overall[name])
        return values


def monitor_batch(
    reference: pd.DataFrame,
    reference_score: ArrayLike,
    current: pd.DataFrame,
    current_score: ArrayLike,
    features: Sequence[str],
    thresholds: MonitoringThresholds | None = None,
    *,
    is_bad: ArrayLike | None = None,
    probability: ArrayLike | None = None,
    as_of: ArrayLike | None = None,
    reference_auc: float | None = None,
) -> MonitoringResult:
    """Compare ``current`` (the new batch's features and scores) with ``reference``; with
    ``is_bad``, ``probability`` and ``as_of`` of the batch also check performance by month
    against ``reference_auc``."""
    thresholds = thresholds or MonitoringThresholds()
    scores = stability_table(np.asarray(reference_score, dtype=float),
                             np.asarray(current_score, dtype=float), thresholds.bins)
    drift = feature_drift(reference, current, features, thresholds.bins)
    notes: list[str] = []
    performance = None
    if is_bad is not None:
        if probability is None or as_of is None:
            raise ValueError("performance checks need probability and as_of next to is_bad")
        if pd.Series(is_bad).notna().any():
            performance = performance_by_month(is_bad, probability, as_of, thresholds.bins)
            undefined = performance.loc[
                (performance["month"] != ALL_MONTHS) & performance["auc"].isna(), "month"
            ].tolist()
            if undefined:
                notes.append(f"no AUC check for month(s) {undefined}: only one class")
            if reference_auc is None and thresholds.max_auc_drop is not None:
                notes.append("no auc_drop check: the training run's test AUC is unknown")
        else:
            notes.append("the batch has no matured labels: no performance checks")
    checks = monitoring_checks(float(scores["psi"].sum()), drift, thresholds, performance,
                               reference_auc)
    return MonitoringResult(checks, scores, drift, performance, len(reference), len(current),
                            reference_auc, notes)
