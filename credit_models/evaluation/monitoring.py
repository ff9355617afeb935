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
otherwise. Every table has a plot, and :func:`build_monitoring_report` puts them on one
self-contained HTML page. The module takes DataFrames and arrays and knows nothing of the
experiment tracker or the config system.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from credit_models.evaluation.metrics import (
    characteristic_stability,
    metrics_by_group,
    stability_table,
)
from credit_models.reporting.plots import BAD_COLOUR, GOOD_COLOUR, top_features_bar
from credit_models.reporting.validation_report import (
    _CSS,
    _Column,
    _count,
    _figure,
    _how,
    _note,
    _number,
    _percent,
    _signed,
    _table,
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


# ---------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------


def score_stability_plot(table: pd.DataFrame, threshold: float) -> Figure:
    """Share of rows per reference score bin, reference against batch, with the PSI."""
    positions = np.arange(len(table))
    figure = Figure(figsize=(8, 4))
    axes = figure.subplots()
    width = 0.4
    axes.bar(positions - width / 2, table["expected_share"], width, color=GOOD_COLOUR,
             label=f"reference ({int(table['expected_rows'].sum()):,})")
    axes.bar(positions + width / 2, table["actual_share"], width, color=BAD_COLOUR,
             label=f"batch ({int(table['actual_rows'].sum()):,})")
    axes.set_xticks(positions, table["bin"], rotation=35, ha="right", fontsize=7)
    axes.set_ylabel("share of rows")
    axes.set_xlabel("score bin (reference deciles)")
    psi = float(table["psi"].sum())
    axes.set_title(f"Score stability: PSI {psi:.3f} (alert above {threshold:g})")
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure


def _threshold_line(figure: Figure, threshold: float) -> Figure:
    axes = figure.axes[0]
    axes.axvline(threshold, color=BAD_COLOUR, linestyle="--", linewidth=1,
                 label=f"alert above {threshold:g}")
    axes.legend(fontsize=8, loc="lower right")
    return figure


def csi_plot(drift: pd.DataFrame, threshold: float, top: int = 20) -> Figure:
    """The features of largest CSI, with the alert threshold."""
    values = drift.set_index("feature")["csi"].sort_values(ascending=False)
    return _threshold_line(
        top_features_bar(values, f"CSI, the {min(top, len(values))} least stable features", top),
        threshold,
    )


def missing_rate_plot(drift: pd.DataFrame, threshold: float, top: int = 20) -> Figure:
    """The features whose missing share rose most (batch − reference), with the threshold."""
    values = drift.set_index("feature")["missing_rate_increase"].sort_values(ascending=False)
    return _threshold_line(
        top_features_bar(values, "Rise of the missing share (batch − reference), "
                                 f"top {min(top, len(values))}", top),
        threshold,
    )


def auc_by_month_plot(performance: pd.DataFrame, reference_auc: float | None,
                      thresholds: MonitoringThresholds) -> Figure:
    """AUC and KS per month against the training run's test AUC and the alert levels."""
    months = performance[performance["month"] != ALL_MONTHS]
    positions = np.arange(len(months))
    figure = Figure(figsize=(8, 4))
    axes = figure.subplots()
    axes.plot(positions, months["auc"], marker="o", color=GOOD_COLOUR, label="AUC")
    axes.plot(positions, months["ks"], marker="s", color="#8c8c8c", linewidth=1, label="KS")
    if reference_auc is not None:
        axes.axhline(reference_auc, color="black", linewidth=1,
                     label=f"training test AUC {reference_auc:.3f}")
        if thresholds.max_auc_drop is not None:
            axes.axhline(reference_auc - thresholds.max_auc_drop, color=BAD_COLOUR,
                         linestyle="--", linewidth=1,
                         label=f"alert below {reference_auc - thresholds.max_auc_drop:.3f}")
    if thresholds.min_auc is not None:
        axes.axhline(thresholds.min_auc, color=BAD_COLOUR, linestyle=":", linewidth=1,
                     label=f"AUC floor {thresholds.min_auc:g}")
    axes.set_xticks(positions, months["month"], rotation=45, ha="right", fontsize=8)
    axes.set_xlim(-0.5, max(len(months) - 0.5, 0.5))
    axes.set_ylabel("AUC / KS")
    axes.set_title("Performance of the labelled rows by month")
    axes.legend(fontsize=8, loc="best")
    figure.tight_layout()
    return figure


def monitoring_figures(result: MonitoringResult, thresholds: MonitoringThresholds,
                       top: int = 20) -> dict[str, Figure]:
    """File stem → figure, for every plot the result has."""
    figures = {
        "score_psi": score_stability_plot(result.score_stability, thresholds.max_score_psi),
        "feature_csi": csi_plot(result.drift, thresholds.max_feature_csi, top),
        "missing_rate_increase": missing_rate_plot(
            result.drift, thresholds.max_missing_rate_increase, top),
    }
    if result.performance is not None:
        figures["auc_by_month"] = auc_by_month_plot(result.performance, result.reference_auc,
                                                    thresholds)
    return figures


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------

_EXTRA_CSS = """
.badge.ok { background: #dcefdc; color: #1e6b2e; }
.badge.alert { background: #f6d0d0; color: #9b1c1c; }
"""


def _badge(value: Any) -> str:
    return f'<span class="badge {html.escape(str(value))}">{html.escape(str(value))}</span>'


_CHECK_TABLE = (
    _Column("check", "Check", numeric=False),
    _Column("subject", "Subject", numeric=False),
    _Column("value", "Value", _number(4)),
    _Column("threshold", "Threshold", _number(4)),
    _Column("status", "Status", _badge, numeric=False, markup=True),
)
_SCORE_TABLE = (
    _Column("bin", "Score bin", numeric=False),
    _Column("expected_rows", "Reference rows", _count),
    _Column("actual_rows", "Batch rows", _count),
    _Column("expected_share", "Reference share", _percent()),
    _Column("actual_share", "Batch share", _percent()),
    _Column("psi", "PSI term", _number(4)),
)
_DRIFT_TABLE = (
    _Column("feature", "Feature", numeric=False),
    _Column("kind", "Kind", numeric=False),
    _Column("csi", "CSI", _number(4)),
    _Column("reference_missing_rate", "Missing, reference", _percent()),
    _Column("current_missing_rate", "Missing, batch", _percent()),
    _Column("missing_rate_increase", "Missing rise", _signed(3)),
)
_MONTH_TABLE = (
    _Column("month", "Month", numeric=False),
    _Column("rows", "Rows", _count),
    _Column("bads", "Bads", _count),
    _Column("bad_rate", "Bad rate", _percent(2)),
    _Column("mean_probability", "Mean PD", _percent(2)),
    _Column("auc", "AUC", _number(3)),
    _Column("ks", "KS", _number(3)),
    _Column("ece", "ECE", _number(4)),
)


def _section(key: str, title: str, *parts: str) -> str:
    return f'<section id="{key}"><h2>{html.escape(title)}</h2>{"".join(parts)}</section>'


def build_monitoring_report(
    result: MonitoringResult,
    figures: Mapping[str, Figure],
    *,
    model_label: str,
    details: Mapping[str, str] | None = None,
    generated_at: pd.Timestamp | None = None,
) -> str:
    """The monitoring result as one self-contained HTML page (a string): the checks first
    (alerts on top), then the evidence for each kind of check."""
    generated_at = generated_at or pd.Timestamp.now(tz="UTC")
    alerts = result.alerts
    meta = [("Model", model_label), ("Generated", generated_at.strftime("%Y-%m-%d %H:%M UTC")),
            ("Reference rows", f"{result.reference_rows:,}"),
            ("Batch rows", f"{result.current_rows:,}"),
            *((str(key), str(value)) for key, value in (details or {}).items())]
    header = (
        f"<header><h1>Monitoring report: {html.escape(model_label)}</h1>"
        '<p class="subtitle">New batch against the model\'s training reference</p>'
        '<table class="meta">'
        + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in meta)
        + "</table></header>"
    )
    verdict = (f"{len(alerts)} of {len(result.checks)} checks crossed their threshold."
               if len(alerts) else f"All {len(result.checks)} checks are within their thresholds.")
    ordered = pd.concat([alerts, result.checks[result.checks["status"] != ALERT]])
    kinds = "".join(f"<li><b>{html.escape(name)}</b>: {html.escape(text)}</li>"
                    for name, text in CHECK_DESCRIPTIONS.items()
                    if name in set(result.checks["check"]))
    sections = [
        _section("checks", "Checks",
                 f'<p class="headline">{html.escape(verdict)}</p>',
                 f'<ul class="facts">{kinds}</ul>',
                 *(_note(note) for note in result.notes),
                 _table(ordered, _CHECK_TABLE, scroll=True)),
        _section("score", "Score stability",
                 _figure(figures["score_psi"], "score PSI",
                         "Share of rows in each decile of the reference score: a stable "
                         "population keeps about 10 % in each."),
                 _how("PSI = Σ (batch share − reference share) · ln(batch / reference): < 0.1 "
                      "stable, 0.1–0.25 watch, > 0.25 act."),
                 _table(result.score_stability, _SCORE_TABLE)),
        _section("features", "Feature stability and missing values",
                 _figure(figures["feature_csi"], "feature CSI",
                         "CSI of the least stable features (their own PSI, missing values a "
                         "bin of their own)."),
                 _figure(figures["missing_rate_increase"], "missing rate rise",
                         "Rise of each feature's missing share: a broken feed shows here first."),
                 _how("Every model feature, least stable first."),
                 _table(result.drift.sort_values("csi", ascending=False), _DRIFT_TABLE,
                        scroll=True)),
    ]
    if result.performance is not None:
        sections.append(_section(
            "performance", "Performance by month",
            _figure(figures["auc_by_month"], "AUC by month",
                    "AUC and KS of the labelled rows per month of as_of, against the training "
                    "run's test AUC."),
            _how("Rows whose label has not matured are left out; the last row covers every "
                 "labelled row."),
            _table(result.performance, _MONTH_TABLE),
        ))
    else:
        sections.append(_section("performance", "Performance by month",
                                 _note("No labels in the batch: performance not checked.")))
    title = html.escape(f"Monitoring report: {model_label}")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_CSS}{_EXTRA_CSS}</style>\n</head>\n<body>\n<main>\n"
        + header + "\n".join(sections)
        + f"<footer>Generated {generated_at.strftime('%Y-%m-%d %H:%M UTC')}.</footer>"
        + "\n</main>\n</body>\n</html>\n"
    )
