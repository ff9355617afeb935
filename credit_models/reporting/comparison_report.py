"""What a comparison of champion and challenger shows: the console text, one figure (ROC and
calibration of both) and one self-contained HTML page."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from credit_models.evaluation.metrics import calibration_table
from credit_models.explain.figure_style import styled, use_file_backend
from credit_models.reporting import html as page
from credit_models.reporting.plots import calibration_frame
from credit_models.workflows.comparison import CHALLENGER, CHAMPION, Comparison
from credit_models.workflows.promotion import DIFFERENCE_RULES, GateDecision, GateRule

use_file_backend()

ROLE_COLOURS = {CHAMPION: "#2f5d8a", CHALLENGER: "#c44e52"}
Section = tuple[str, str, str]
"""(title, one-line description, HTML) of a section of the page."""


def formatted_table(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison table as text: counts whole, metrics to 4 decimals, deltas signed."""
    shown = table.copy()
    for column in (CHAMPION, CHALLENGER, "delta"):
        shown[column] = [
            "" if pd.isna(value) else
            f"{value:,.0f}" if metric in ("rows", "bads", "rows_seen_in_training") else
            f"{value:+.4f}" if column == "delta" else f"{value:.4f}"
            for metric, value in zip(shown.index, shown[column], strict=True)
        ]
    return shown


def comparison_text(comparison: Comparison) -> str:
    """What the console shows: the headline, the table and AUC by month."""
    parts = ["", comparison.headline(), "", formatted_table(comparison.table).to_string()]
    seen = comparison.table.loc["rows_seen_in_training", [CHAMPION, CHALLENGER]]
    for role, value in seen.items():
        if pd.notna(value) and value > 0:
            parts.append(f"warning: the {role} was fitted on {int(value):,} of these rows; its "
                         "metrics are optimistic")
    if comparison.by_month is not None:
        parts += ["", "AUC by month:",
                  comparison.by_month.to_string(index=False, float_format=lambda v: f"{v:.4f}")]
    return "\n".join(parts)


@styled
def comparison_figure(comparison: Comparison, bins: int = 10) -> Figure:
    """ROC (left) and reliability curves (right) of both models on the compared rows."""
    figure = Figure(figsize=(11, 5))
    roc_axes, calibration_axes = figure.subplots(1, 2)
    is_bad = comparison.rows.is_bad
    top = 0.0
    for contender in (comparison.champion, comparison.challenger):
        probability = comparison.probability[contender.role]
        colour = ROLE_COLOURS[contender.role]
        false_positive, true_positive, _ = roc_curve(is_bad, probability)
        auc = comparison.table.loc["auc", contender.role]
        roc_axes.plot(false_positive, true_positive, color=colour,
                      label=f"{contender.title}, AUC {auc:.3f}")
        table = calibration_table(is_bad, probability, bins)
        calibration_axes.plot(table["mean_probability"], table["bad_rate"], marker="o",
                              markersize=4, color=colour,
                              label=f"{contender.title}, ECE "
                                    f"{comparison.table.loc['ece', contender.role]:.4f}")
        top = max(top, float(table["mean_probability"].max()), float(table["bad_rate"].max()))
    roc_axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    roc_axes.set_xlabel("false positive rate (goods declined)")
    roc_axes.set_ylabel("true positive rate (bads declined)")
    roc_axes.legend(loc="lower right", fontsize=8)
    roc_axes.set_title("ROC (bad = positive class)")
    calibration_frame(calibration_axes, top, bins, "Calibration (reliability)")
    figure.suptitle(f"{comparison.model_name}: champion against challenger, "
                    f"{len(is_bad):,} rows", fontsize=11)
    return figure


_METRIC_NAMES = {
    "rows": "Rows", "bads": "Bads", "bad_rate": "Bad rate", "mean_probability": "Mean PD",
    "auc": "AUC", "gini": "Gini", "ks": "KS", "ece": "ECE", "brier": "Brier",
    "log_loss": "Log loss", "psi_score": "PSI of the PD", "rows_seen_in_training":
    "Rows seen in training",
}
_METRIC_TABLE = (
    page.Column("metric", "Metric", numeric=False),
    page.Column(CHAMPION, "Champion"),
    page.Column(CHALLENGER, "Challenger"),
    page.Column("delta", "Delta"),
    page.Column("better", "Better", numeric=False),
)
_MONTH_TABLE = (
    page.Column("month", "Month", numeric=False),
    page.Column("rows", "Rows", page.count),
    page.Column("bads", "Bads", page.count),
    page.Column(f"{CHAMPION}_auc", "Champion AUC", page.number(4)),
    page.Column(f"{CHALLENGER}_auc", "Challenger AUC", page.number(4)),
    page.Column("delta_auc", "Delta", page.signed(4)),
)
_GATE_TABLE = (
    page.Column("result", "Result", page.badge, numeric=False, markup=True),
    page.Column("rule", "Rule", numeric=False),
    page.Column("description", "Measures", numeric=False),
    page.Column("value", "Value"),
    page.Column("condition", "Must be", numeric=False),
)
DECISION_CSS = """
.decision { margin: 14px 0 4px; padding: 10px 16px; border-radius: 6px; border-left: 6px solid; }
.decision.promoted { background: #e9f5e9; border-color: #1e6b2e; }
.decision.rejected { background: #fbe9e9; border-color: #9b1c1c; }
.decision.compared { background: #eef2f7; border-color: #2f5d8a; }
.decision p { margin: 3px 0; }
.decision .verdict { font-size: 17px; font-weight: 600; }
"""


def _rule_value(rule: GateRule) -> str:
    if isinstance(rule.value, float):
        if np.isnan(rule.value):
            return page.MISSING
        return f"{rule.value:+.4f}" if rule.rule in DIFFERENCE_RULES else f"{rule.value:.4f}"
    return str(rule.value)


def _condition(rule: GateRule) -> str:
    return (f"{rule.comparison} {rule.threshold:g}" if isinstance(rule.threshold, float)
            else str(rule.threshold))


def gate_frame(rules: list[GateRule]) -> pd.DataFrame:
    """The gate's rules as the page shows them: failed rules first, each with its value."""
    frame = pd.DataFrame({
        "result": ["ok" if rule.passed else "alert" for rule in rules],
        "rule": [rule.rule for rule in rules],
        "description": [rule.description for rule in rules],
        "value": [_rule_value(rule) for rule in rules],
        "condition": [_condition(rule) for rule in rules],
        "passed": [rule.passed for rule in rules],
    })
    return frame.sort_values("passed", kind="stable").reset_index(drop=True)


def decision_lines(comparison: Comparison, decision: GateDecision | None) -> tuple[str, list[str]]:
    """The verdict (``promoted``, ``rejected`` or ``compared``) and the lines that state it: the
    decision, why (the gate rules that failed, with their values, or the reason of a forced
    promotion) and the headline metrics."""
    challenger, champion = comparison.challenger, comparison.champion
    table = comparison.table
    metrics = "; ".join(
        f"{_METRIC_NAMES[metric]} {table.loc[metric, CHALLENGER]:.4f} against "
        f"{table.loc[metric, CHAMPION]:.4f} ({table.loc[metric, 'delta']:+.4f})"
        for metric in ("auc", "ks", "ece") if metric in table.index)
    metrics = f"Challenger against champion: {metrics}." if metrics else ""
    if decision is None:
        return "compared", [
            (f"Compared only, no promotion decision: {challenger.title} against "
            f"{champion.title} (credit-models-promote applies the gate)."), metrics]
    verdict = "promoted" if decision.promote else "rejected"
    failed = decision.failed
    if decision.promote and decision.forced:
        why = f"Forced: {decision.reason}."
    elif decision.promote:
        why = f"Every one of the {len(decision.rules)} gate rules passed."
    else:
        why = (f"{len(failed)} of {len(decision.rules)} gate rules failed: "
               + "; ".join(f"{rule.rule} ({rule.description} = {_rule_value(rule)}, must be "
                           f"{_condition(rule)})" for rule in failed) + ".")
    title = (f"Promoted: {challenger.title} becomes the champion" if decision.promote
             else f"Rejected: {challenger.title} is not promoted; {champion.title} stays")
    return verdict, [title, why, metrics]


def decision_block(comparison: Comparison, decision: GateDecision | None) -> str:
    """The decision at the top of the page (HTML): verdict in large type, then why."""
    verdict, lines = decision_lines(comparison, decision)
    first, *rest = [line for line in lines if line]
    return (f'<div class="decision {verdict}"><p class="verdict">{escape(first)}</p>'
            + "".join(f"<p>{escape(line)}</p>" for line in rest) + "</div>")


def _metric_frame(comparison: Comparison) -> pd.DataFrame:
    """The comparison table as text: counts whole, metrics to 4 decimals, deltas signed."""
    shown = formatted_table(comparison.table).reset_index(names="metric")
    shown["metric"] = shown["metric"].map(lambda name: _METRIC_NAMES.get(name, name))
    return shown


def comparison_html(
    comparison: Comparison, figure: Figure, extra_sections: list[Section] = (), *,
    decision: GateDecision | None = None, generated_at: pd.Timestamp | None = None,
) -> str:
    """One self-contained page in the reports' page kit: the decision first (promoted or
    rejected, by which gate rule with its values; or "compared only" without ``decision``), then
    the gate, the metrics side by side, AUC by month, any extra (title, one-line description,
    HTML) sections and the figure."""
    generated_at = generated_at or pd.Timestamp.now(tz="UTC")
    challenger, champion = comparison.challenger, comparison.champion
    sections = []
    if decision is not None and decision.rules:
        sections.append(page.section(
            "gate", "Promotion gate",
            page.how("Every rule must pass for the challenger to become champion; failed rules "
                     "first."),
            page.table(gate_frame(decision.rules), _GATE_TABLE)))
    sections.append(page.section(
        "metrics", "Metrics side by side",
        page.how("Both versions scored now on the same rows; delta = challenger − champion; PSI "
                 "of the PD from the champion's development rows."),
        page.table(_metric_frame(comparison), _METRIC_TABLE)))
    if comparison.by_month is not None:
        sections.append(page.section(
            "months", "AUC by snapshot month",
            page.how("Ranking month by month on the compared rows."),
            page.table(comparison.by_month, _MONTH_TABLE)))
    sections.extend(page.section(page.anchor(title), title, page.how(text), content)
                    for title, text, content in extra_sections)
    sections.append(page.section(
        "figure", "ROC and calibration",
        page.figure(figure, "ROC and calibration",
                    "Both models on the compared rows: ROC (left), reliability (right).",
                    dpi=110)))
    meta = [("Model", comparison.model_name), ("Champion", champion.title),
            ("Challenger", challenger.title),
            ("Rows", (f"{len(comparison.rows.frame):,} ({int(comparison.rows.is_bad.sum()):,} "
                     "bads)")),
            ("Data", comparison.rows.source), ("Generated", page.utc_minute(generated_at))]
    header = page.page_header(f"{comparison.model_name}: champion and challenger",
                              comparison.headline(), meta)
    body = (header + decision_block(comparison, decision) + "\n".join(sections)
            + page.footer(f"Generated {page.utc_minute(generated_at)}."))
    return page.document(f"{comparison.model_name}: champion and challenger", body,
                         css=page.CHECK_CSS + DECISION_CSS)
