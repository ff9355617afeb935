"""The monitoring report: the plots of a :class:`~credit_models.evaluation.monitoring.
MonitoringResult` and the one self-contained HTML page that shows the summary first (each kind of
check with its alerts, then the alerts), the plots and their evidence next, and every individual
check last, alerts on top. The checks themselves are
:mod:`credit_models.evaluation.monitoring`'s; this module only shows them."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from credit_models.evaluation.monitoring import (
    ALERT,
    ALL_MONTHS,
    CHECK_DESCRIPTIONS,
    OK,
    MonitoringResult,
    MonitoringThresholds,
)
from credit_models.explain.figure_style import styled
from credit_models.reporting import columns
from credit_models.reporting import html as page
from credit_models.reporting.plots import BAD_COLOUR, GOOD_COLOUR, top_features_bar

# ---------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------


@styled
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
    return figure


def _threshold_line(figure: Figure, threshold: float) -> Figure:
    axes = figure.axes[0]
    axes.axvline(threshold, color=BAD_COLOUR, linestyle="--", linewidth=1,
                 label=f"alert above {threshold:g}")
    axes.legend(fontsize=8, loc="lower right")
    return figure


@styled
def csi_plot(drift: pd.DataFrame, threshold: float, top: int = 20) -> Figure:
    """The features of largest CSI, with the alert threshold."""
    values = drift.set_index("feature")["csi"].sort_values(ascending=False)
    return _threshold_line(
        top_features_bar(values, f"CSI, the {min(top, len(values))} least stable features", top),
        threshold,
    )


@styled
def missing_rate_plot(drift: pd.DataFrame, threshold: float, top: int = 20) -> Figure:
    """The features whose missing share rose most (batch − reference), with the threshold."""
    values = drift.set_index("feature")["missing_rate_increase"].sort_values(ascending=False)
    return _threshold_line(
        top_features_bar(values, "Rise of the missing share (batch − reference), "
                                 f"top {min(top, len(values))}", top),
        threshold,
    )


@styled
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
    return figure


@styled
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

_CHECK_TABLE = (
    page.Column("check", "Check", numeric=False),
    page.Column("subject", "Subject", numeric=False),
    page.Column("value", "Value", page.number(4)),
    page.Column("threshold", "Threshold", page.number(4)),
    page.Column("status", "Status", lambda value: page.badge(str(value)), numeric=False,
                markup=True),
)
_SCORE_TABLE = (
    page.Column("bin", "Score bin", numeric=False),
    page.Column("expected_rows", "Reference rows", page.count),
    page.Column("actual_rows", "Batch rows", page.count),
    page.Column("expected_share", "Reference share", page.percent()),
    page.Column("actual_share", "Batch share", page.percent()),
    page.Column("psi", "PSI term", page.number(4)),
)
_DRIFT_TABLE = (
    page.Column("feature", "Feature", numeric=False),
    page.Column("kind", "Kind", numeric=False),
    page.Column("csi", "CSI", page.number(4)),
    page.Column("reference_missing_rate", "Missing, reference", page.percent()),
    page.Column("current_missing_rate", "Missing, batch", page.percent()),
    page.Column("missing_rate_increase", "Missing rise", page.signed(3)),
)
_MONTH_TABLE = (
    page.Column("month", "Month", numeric=False),
    columns.ROWS,
    *columns.OUTCOMES,
    *columns.GROUP_PERFORMANCE,
)


_KIND_TABLE = (
    page.Column("check", "Check", numeric=False),
    page.Column("description", "What it checks", numeric=False),
    page.Column("checks", "Checks", page.count),
    page.Column("alerts", "Alerts", page.count),
    page.Column("status", "Status", lambda value: page.badge(str(value)), numeric=False,
                markup=True),
)


def check_summary(checks: pd.DataFrame) -> pd.DataFrame:
    """One row per kind of check: what it checks, how many checks, how many alerts and the
    kind's status; kinds with alerts first."""
    grouped = checks.groupby("check", sort=False)["status"]
    summary = pd.DataFrame({"checks": grouped.size(),
                            "alerts": grouped.apply(lambda status: int((status == ALERT).sum()))})
    summary["status"] = np.where(summary["alerts"] > 0, ALERT, OK)
    summary["description"] = [CHECK_DESCRIPTIONS.get(name, "") for name in summary.index]
    return (summary.reset_index()
            .sort_values("alerts", ascending=False, kind="stable").reset_index(drop=True))


def alerts_first(checks: pd.DataFrame) -> pd.DataFrame:
    """The checks, alerts on top (each group in its own order)."""
    return pd.concat([checks[checks["status"] == ALERT],
                      checks[checks["status"] != ALERT]]).reset_index(drop=True)


def build_monitoring_report(
    result: MonitoringResult,
    figures: Mapping[str, Figure],
    *,
    model_label: str,
    details: Mapping[str, str] | None = None,
    generated_at: pd.Timestamp | None = None,
) -> str:
    """The monitoring result as one self-contained HTML page (a string): the summary (verdict,
    each kind of check with its alerts, the alerts themselves), then the plots with their short
    tables, then the long lists: every feature's drift and every individual check, alerts on top;
    ``figures`` are :func:`monitoring_figures`'s."""
    generated_at = generated_at or pd.Timestamp.now(tz="UTC")
    alerts = result.alerts
    meta = [("Model", model_label), ("Generated", page.utc_minute(generated_at)),
            ("Reference rows", f"{result.reference_rows:,}"),
            ("Batch rows", f"{result.current_rows:,}"),
            *((str(key), str(value)) for key, value in (details or {}).items())]
    header = page.page_header(f"Monitoring report: {model_label}",
                              "New batch against the model's training reference", meta)
    verdict = (f"{len(alerts)} of {len(result.checks)} checks crossed their threshold."
               if len(alerts) else f"All {len(result.checks)} checks are within their thresholds.")
    summary = [page.headline(verdict), *(page.note(note) for note in result.notes),
               page.table(check_summary(result.checks), _KIND_TABLE)]
    if len(alerts):
        summary += [page.how("The checks that crossed their threshold:"),
                    page.table(alerts, _CHECK_TABLE, scroll=True)]
    sections = [
        page.section("summary", "Summary", *summary),
        page.section("score", "Score stability",
                     page.figure(figures["score_psi"], "score PSI",
                                 "Share of rows in each decile of the reference score: a stable "
                                 "population keeps about 10 % in each."),
                     page.how("PSI = Σ (batch share − reference share) · ln(batch / reference): "
                              "< 0.1 stable, 0.1–0.25 watch, > 0.25 act."),
                     page.table(result.score_stability, _SCORE_TABLE)),
        page.section("features", "Feature stability and missing values",
                     page.pair(
                         page.figure(figures["feature_csi"], "feature CSI",
                                     "CSI of the least stable features (their own PSI, missing "
                                     "values a bin of their own)."),
                         page.figure(figures["missing_rate_increase"], "missing rate rise",
                                     "Rise of each feature's missing share: a broken feed shows "
                                     "here first."))),
    ]
    if result.performance is not None:
        sections.append(page.section(
            "performance", "Performance by month",
            page.figure(figures["auc_by_month"], "AUC by month",
                        "AUC and KS of the labelled rows per month of as_of, against the training "
                        "run's test AUC."),
            page.how("Rows whose label has not matured are left out; the last row covers every "
                     "labelled row."),
            page.table(result.performance, _MONTH_TABLE),
        ))
    else:
        sections.append(page.section(
            "performance", "Performance by month",
            page.note("No labels in the batch: performance not checked.")))
    sections.append(page.section(
        "drift", "Every feature",
        page.how("CSI and missing shares of every model feature, least stable first."),
        page.table(result.drift.sort_values("csi", ascending=False), _DRIFT_TABLE, scroll=True)))
    sections.append(page.section(
        "checks", "Every check",
        page.how(f"All {len(result.checks)} checks, alerts on top."),
        page.table(alerts_first(result.checks), _CHECK_TABLE, scroll=True)))
    footer = page.footer(f"Generated {page.utc_minute(generated_at)}.")
    return page.document(f"Monitoring report: {model_label}",
                         header + "\n".join(sections) + footer, css=page.CHECK_CSS)
