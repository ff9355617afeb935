"""The picture of a feature selection: information value against stability, one point per feature.

Built on :class:`matplotlib.figure.Figure` directly (rendered by Agg when saved), not on pyplot, so
that no global figure state accumulates when a job draws many plots.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from credit_models.explain.figure_style import styled
from credit_models.features.selection import RULES

_COLOURS = {
    "kept": "#2e7d32",
    "missing_rate": "#9e9e9e",
    "single_value_share": "#bdbdbd",
    "iv": "#90a4ae",
    "psi": "#c62828",
    "correlation": "#ef8f00",
    "unusable": "#6d4c41",
    "excluded": "#5e35b1",
}
_LABELS = {
    "kept": "kept",
    "missing_rate": "dropped: missing",
    "single_value_share": "dropped: near-constant",
    "iv": "dropped: weak (IV)",
    "psi": "dropped: unstable (PSI)",
    "correlation": "dropped: correlated",
    "unusable": "dropped: unusable (constant, empty or an identifier)",
    "excluded": "excluded (sensitive or selection.exclude)",
}
_PSI_LINEAR_BELOW = 0.01


def drop_rule(reason: str) -> str:
    """The rule a selection report's ``reason`` names (``"kept"`` for an empty reason)."""
    if not reason:
        return "kept"
    first = reason.split(" ", 1)[0].rstrip(":")
    if first in ("excluded", "sensitive"):
        return "excluded"
    return "correlation" if first == "correlated" else first


@styled
def iv_psi_plot(
    report: pd.DataFrame,
    *,
    min_iv: float | None = None,
    max_psi: float | None = None,
    max_iv: float | None = None,
    label_top: int = 8,
) -> Figure:
    """IV (x) against PSI (y) per feature of a selection report, coloured by outcome: kept, or
    the rule that dropped it. Dashed lines show the thresholds given; the ``label_top`` features
    of highest IV and every feature dropped for PSI are named. PSI is drawn on a symmetric log
    scale (linear below 0.01) because most features sit near 0 and drifting ones far above."""
    missing = {"feature", "iv", "psi", "reason"} - set(report.columns)
    if missing:
        raise ValueError(f"report lacks column(s) {sorted(missing)}; pass selection_report_")
    outcome = report["reason"].fillna("").map(drop_rule)
    psi = report["psi"].fillna(0.0)
    figure = Figure(figsize=(10, 5.5))
    axes = figure.subplots()
    for group in ("kept", *RULES, "excluded"):
        shown = outcome == group
        if shown.any():
            axes.scatter(report.loc[shown, "iv"], psi[shown], s=18, alpha=0.8,
                         color=_COLOURS[group], label=f"{_LABELS[group]} ({int(shown.sum())})")
    if "warning" in report.columns:
        flagged = report["warning"].fillna("").ne("")
        if flagged.any():
            axes.scatter(report.loc[flagged, "iv"], psi[flagged], s=80, facecolors="none",
                         edgecolors="black", linewidths=0.8, label="flagged: IV suspect of leakage")
    for value, horizontal, text in ((min_iv, False, "min IV"), (max_iv, False, "max IV (flag)"),
                                    (max_psi, True, "max PSI")):
        if value is None:
            continue
        line = axes.axhline if horizontal else axes.axvline
        line(value, linestyle="--", linewidth=0.8, color="grey")
        if horizontal:
            axes.annotate(text, (1.0, value), xycoords=("axes fraction", "data"), ha="right",
                          va="bottom", fontsize=7, color="grey")
        else:
            axes.annotate(text, (value, 1.0), xycoords=("data", "axes fraction"), rotation=90,
                          ha="right", va="top", fontsize=7, color="grey")
    named = report.nlargest(label_top, "iv").index.union(report.index[outcome == "psi"])
    widest = float(np.nanmax(report["iv"].to_numpy(dtype=float), initial=0.0)) or 1.0
    labels = []
    for index in named:
        right = report.at[index, "iv"] > 0.6 * widest     # named to the left, inside the axes
        labels.append(axes.annotate(
            str(report.at[index, "feature"]), (report.at[index, "iv"], psi[index]), fontsize=6,
            xytext=(-4 if right else 4, 3), textcoords="offset points",
            ha="right" if right else "left",
            arrowprops={"arrowstyle": "-", "color": "#888888", "linewidth": 0.4,
                        "shrinkA": 0, "shrinkB": 2}))
    axes.set_yscale("symlog", linthresh=_PSI_LINEAR_BELOW)
    axes.set_ylim(bottom=0.0, top=max(1.0, float(np.nanmax(psi.to_numpy(), initial=0.0)) * 2))
    axes.set_xlabel("information value on the development sample")
    axes.set_ylabel("PSI, development → comparison (symmetric log scale)")
    axes.set_title(f"Feature selection: {int((outcome == 'kept').sum())} of {len(report)} kept")
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    axes.grid(alpha=0.3)
    spread_labels(figure, labels)
    return figure


def spread_labels(figure: Figure, labels: list[Annotation], gap: float = 1.0,
                  tries: int = 40) -> None:
    """Move labels (annotations in offset points) up or down, nearest free place first, until no
    two overlap; each keeps a thin line to its point. Greedy, lowest label first."""
    if len(labels) < 2:
        return
    figure.draw_without_rendering()
    points_per_pixel = 72.0 / figure.dpi
    placed: list[Bbox] = []
    for label in sorted(labels, key=lambda item: item.get_window_extent().y0):
        box = label.get_window_extent()
        step = box.height + gap
        for attempt in range(tries):
            shift = step * ((attempt + 1) // 2) * (1 if attempt % 2 else -1) if attempt else 0.0
            moved = box.translated(0, shift)
            if not any(moved.overlaps(other) for other in placed):
                break
        x, y = label.xyann
        label.xyann = (x, y + shift * points_per_pixel)
        placed.append(moved)
