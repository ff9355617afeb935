"""What a comparison of champion and challenger shows: the console text, one figure (ROC and
calibration of both) and one self-contained HTML page."""

from __future__ import annotations

import matplotlib
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from credit_models.evaluation.metrics import calibration_table
from credit_models.reporting import html as page
from credit_models.reporting.html import figure_png, image
from credit_models.reporting.plots import calibration_frame
from credit_models.workflows.comparison import CHALLENGER, CHAMPION, Comparison

matplotlib.use("Agg")

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
    figure.tight_layout()
    return figure


def comparison_html(
    comparison: Comparison, figure: Figure, extra_sections: list[Section] = ()
) -> str:
    """One self-contained page: the headline, the table, AUC by month, the figure, and any extra
    (title, one-line description, HTML) sections."""
    sections = [
        ("Metrics side by side",
         ("Both versions scored now on the same rows; delta = challenger − champion; PSI of the "
          "PD from the champion's development rows."),
         formatted_table(comparison.table).to_html()),
    ]
    if comparison.by_month is not None:
        sections.append(("AUC by snapshot month", "Ranking month by month on the compared rows.",
                         comparison.by_month.to_html(index=False, na_rep="",
                                                     float_format=lambda v: f"{v:.4f}")))
    sections.extend(extra_sections)
    sections.append(("ROC and calibration", "Both models on one figure.",
                     image(figure_png(figure, dpi=110), "ROC and calibration")))
    body = "\n".join(page.section(page.anchor(title), title, page.how(text), content)
                     for title, text, content in sections)
    return page.document(f"{comparison.model_name}: champion and challenger",
                         page.page_header(comparison.headline(), "", []) + "\n" + body)
