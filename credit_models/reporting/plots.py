"""Plots that go into a run's artifacts and the validation report: what a reviewer looks at before
reading numbers.

Figures are built on :class:`matplotlib.figure.Figure` directly (drawn by Agg when saved), not
through pyplot, so a job that draws many plots accumulates no global figure state. Each function
returns its Figure; the caller saves or embeds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, PercentFormatter
from numpy.typing import ArrayLike
from sklearn.metrics import RocCurveDisplay, roc_curve

from credit_models.evaluation.metrics import PSI_ACT, PSI_STABLE, calibration_table
from credit_models.explain.figure_style import styled, use_file_backend

use_file_backend()   # scikit-learn's displays import pyplot: no window from a job

GOOD_COLOUR, BAD_COLOUR = "#4c72b0", "#b03a2e"
SPLIT_COLOURS = {"dev": "#4c72b0", "valid": "#dd8452", "calibration": "#8172b3", "oot": "#55a868"}
_OTHER_COLOURS = ("#937860", "#da8bc3", "#8c8c8c", "#ccb974")
RAW_COLOUR = "#9a9a9a"
"""The uncalibrated probability, drawn in grey next to the calibrated one."""
MODEL_COLOURS = ("#2f5d8a", "#c44e52", "#55a868", "#dd8452", "#8172b3", "#937860")
"""The main model first, then each benchmark."""
_LOG_TICKS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def _split_colour(name: str, position: int) -> str:
    return SPLIT_COLOURS.get(name, _OTHER_COLOURS[position % len(_OTHER_COLOURS)])


@styled
def roc_by_split(curves: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    """One ROC curve per split (label, score), so over-fitting and drift show at a glance."""
    figure = Figure(figsize=(5.5, 5))
    axes = figure.subplots()
    for position, (split, (is_bad, score)) in enumerate(curves.items()):
        RocCurveDisplay.from_predictions(
            is_bad, score, name=split, ax=axes,
            curve_kwargs={"color": _split_colour(split, position)},
        )
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.set_title("ROC by split (bad = positive class)")
    return figure


@styled
def bad_rate_by_snapshot(as_of: list[str], bad_rate: list[float], rows: list[int]) -> Figure:
    """Labelled rows and bad rate per snapshot: where the label population comes from."""
    figure = Figure(figsize=(8, 4))
    left = figure.subplots()
    positions = np.arange(len(as_of))
    left.bar(positions, rows, color="#c9d6e3", label="labelled snapshots")
    left.set_ylabel("labelled rows")
    left.set_xticks(positions, as_of, rotation=60, ha="right", fontsize=7)
    right = left.twinx()
    right.plot(positions, bad_rate, color=BAD_COLOUR, marker="o", label="bad rate")
    right.set_ylabel("bad rate")
    left.set_title("Label population and bad rate by snapshot")
    return figure


@styled
def top_features_bar(importance: pd.Series, title: str, top: int = 20) -> Figure:
    """Horizontal bars of the largest values, biggest on top."""
    shown = importance.head(top)[::-1]
    figure = Figure(figsize=(7, 0.3 * len(shown) + 1.2))
    axes = figure.subplots()
    axes.barh(shown.index, shown.to_numpy(), color=GOOD_COLOUR)
    axes.set_title(title)
    axes.tick_params(axis="y", labelsize=7)
    return figure


@styled
def ks_curve(
    is_bad: ArrayLike, score: ArrayLike, *, higher_is_riskier: bool = True,
    title: str = "KS curve",
) -> Figure:
    """Cumulative shares of bads and goods as the population is taken from the riskiest score
    down; the KS statistic is the widest vertical gap, drawn and labelled where it occurs."""
    labels = np.asarray(is_bad, dtype=bool)
    values = np.asarray(score, dtype=float)
    riskiness = values if higher_is_riskier else -values
    false_positive_rate, true_positive_rate, _ = roc_curve(labels, riskiness)
    bads, goods = labels.sum(), (~labels).sum()
    population = (true_positive_rate * bads + false_positive_rate * goods) / (bads + goods)
    gap = true_positive_rate - false_positive_rate
    at = int(np.argmax(gap))

    figure = Figure(figsize=(5.5, 5))
    axes = figure.subplots()
    axes.plot(population, true_positive_rate, color=BAD_COLOUR, label="cumulative share of bads")
    axes.plot(population, false_positive_rate, color=GOOD_COLOUR,
              label="cumulative share of goods")
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=0.8)
    axes.vlines(population[at], false_positive_rate[at], true_positive_rate[at], color="black",
                linestyle="--")
    axes.annotate(
        f"KS = {gap[at]:.3f}\nat {population[at]:.0%} of the population",
        xy=(population[at], (true_positive_rate[at] + false_positive_rate[at]) / 2),
        xytext=(10, 0), textcoords="offset points", va="center", fontsize=9,
    )
    axes.set_xlabel("share of the population, riskiest first")
    axes.set_ylabel("cumulative share")
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.legend(loc="lower right", fontsize=8)
    axes.set_title(title)
    return figure


@styled
def calibration_by_split(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]], bins: int = 10
) -> Figure:
    """Reliability diagram: observed bad rate against mean predicted PD in equal-frequency bins
    of the PD, one line per split (label, probability); points on the diagonal are calibrated."""
    figure = Figure(figsize=(5.5, 5))
    axes = figure.subplots()
    top = 0.0
    for position, (split, (is_bad, probability)) in enumerate(curves.items()):
        table = calibration_table(is_bad, probability, bins)
        axes.plot(table["mean_probability"], table["bad_rate"], marker="o", markersize=4,
                  label=split, color=_split_colour(split, position))
        top = max(top, table["mean_probability"].max(), table["bad_rate"].max())
    calibration_frame(axes, top, bins, "Calibration (reliability) by split")
    return figure


def calibration_frame(axes: Axes, top: float, bins: int, title: str) -> None:
    """The diagonal, square percent axes, labels and legend of a reliability plot whose curves
    reach ``top``: every calibration plot reads on the same frame."""
    top = min(1.0, top * 1.08) if top > 0 else 1.0
    axes.plot([0, top], [0, top], linestyle=":", color="grey", label="perfect calibration")
    axes.set_xlim(0, top)
    axes.set_ylim(0, top)
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_xlabel(f"mean predicted PD ({bins} equal-frequency bins)")
    axes.set_ylabel("observed bad rate")
    axes.legend(loc="upper left", fontsize=8)
    axes.set_title(title)


@styled
def score_distributions(
    is_bad: ArrayLike, score: ArrayLike, *, title: str = "Score distributions",
    xlabel: str = "score", bins: int = 40, log_scale: bool = False,
) -> Figure:
    """Histograms of the score for goods and bads, each normalised to its own total, so the two
    shapes compare whatever the bad rate; the less they overlap, the better the separation.
    ``log_scale`` spaces the bins logarithmically (for a PD, most of which sit near zero)."""
    labels = np.asarray(is_bad, dtype=bool)
    values = np.asarray(score, dtype=float)
    if log_scale:
        positive = values[values > 0]
        low = positive.min() if positive.size else 1e-6
        edges = np.geomspace(low, max(values.max(), low * 1.01), bins + 1)
    else:
        edges = np.linspace(values.min(), max(values.max(), values.min() + 1e-9), bins + 1)
    figure = Figure(figsize=(7, 4))
    axes = figure.subplots()
    for mask, colour, name in ((~labels, GOOD_COLOUR, "goods"), (labels, BAD_COLOUR, "bads")):
        if mask.any():
            weights = np.full(int(mask.sum()), 1.0 / mask.sum())
            axes.hist(values[mask], bins=edges, weights=weights, color=colour, alpha=0.5,
                      label=f"{name} ({int(mask.sum()):,})", edgecolor=colour, linewidth=0.6)
    if log_scale:
        axes.set_xscale("log")
        ticks = [t for t in _LOG_TICKS if edges[0] <= t <= edges[-1]]
        if len(ticks) >= 2:
            axes.set_xticks(ticks, [f"{t:.3g}" if t >= 1 else f"{100 * t:.3g}%" for t in ticks])
            axes.xaxis.set_minor_formatter(NullFormatter())
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_xlabel(xlabel)
    axes.set_ylabel("share of the class")
    axes.legend(fontsize=8)
    axes.set_title(title)
    return figure


@styled
def bad_rate_by_band(band_table: pd.DataFrame, *, title: str = "Bad rate by score band") -> Figure:
    """Bars of the observed bad rate per band of a score band table, the share of rows written
    above each bar and, when the table has ``mean_probability``, the predicted bad rate as a
    marker: a calibrated model puts the marker at the top of the bar."""
    positions = np.arange(len(band_table))
    figure = Figure(figsize=(max(6.0, 0.7 * len(band_table) + 2), 4.2))
    axes = figure.subplots()
    observed = band_table["bad_rate"].fillna(0.0).to_numpy()
    axes.bar(positions, observed, color="#d6a49f", edgecolor=BAD_COLOUR, label="observed bad rate")
    if "mean_probability" in band_table:
        axes.plot(positions, band_table["mean_probability"], linestyle="none", marker="D",
                  color="black", markersize=5, label="mean predicted PD")
    predicted = (
        band_table["mean_probability"].fillna(0.0).to_numpy()
        if "mean_probability" in band_table else np.zeros(len(band_table))
    )
    tops = np.maximum(observed, predicted)
    for position, (height, share) in enumerate(zip(tops, band_table["rows_share"], strict=True)):
        axes.annotate(f"{share:.0%}", xy=(position, height), xytext=(0, 6),
                      textcoords="offset points", ha="center", fontsize=7, color="#555555")
    ceiling = float(tops.max()) if len(tops) else 0.0
    axes.set_ylim(0, (ceiling if ceiling > 0 else 1.0) * 1.18)
    axes.set_xticks(positions, band_table["band"], rotation=35, ha="right", fontsize=8)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_ylabel("bad rate")
    axes.set_xlabel("score band (share of rows above each bar)")
    axes.legend(fontsize=8, loc="upper left")
    axes.set_title(title)
    return figure


@styled
def psi_by_month(
    months: Sequence[str], psi: Sequence[float], splits: Sequence[str] | None = None,
    *, title: str = "PSI of the score by snapshot month",
) -> Figure:
    """PSI of each month against the reference sample, over the stability zones: green below
    0.1 (stable), amber 0.1–0.25 (watch), red above 0.25 (act). Points coloured by split."""
    values = np.asarray(psi, dtype=float)
    positions = np.arange(len(months))
    figure = Figure(figsize=(8, 3.8))
    axes = figure.subplots()
    top = max(0.3, float(np.nanmax(values)) * 1.15 if values.size else 0.3)
    axes.axhspan(0, PSI_STABLE, color="#e3f1e3", zorder=0)
    axes.axhspan(PSI_STABLE, PSI_ACT, color="#fbefd5", zorder=0)
    axes.axhspan(PSI_ACT, top, color="#f7dcdc", zorder=0)
    axes.plot(positions, values, color="#444444", linewidth=1, zorder=2)
    names = list(splits) if splits is not None else ["" for _ in months]
    for position, name in enumerate(dict.fromkeys(names)):
        mask = np.array([n == name for n in names])
        axes.scatter(positions[mask], values[mask], color=_split_colour(name, position),
                     label=name or None, zorder=3, s=22)
    axes.set_ylim(0, top)
    axes.set_xlim(-0.5, len(months) - 0.5)
    axes.set_xticks(positions, months, rotation=60, ha="right", fontsize=7)
    axes.set_ylabel("PSI")
    if splits is not None:
        axes.legend(fontsize=8, loc="upper left")
    axes.set_title(title)
    return figure


@styled
def segment_bars(segment_table: pd.DataFrame, *, title: str = "Performance by segment") -> Figure:
    """Two panels per segment value: AUC (left; no bar where a segment has one class) and the
    observed bad rate next to the mean predicted PD (right). Expects columns ``segment``,
    ``group``, ``rows``, ``auc``, ``bad_rate``, ``mean_probability``."""
    labels = [f"{segment}: {group} (n={rows:,})" for segment, group, rows in zip(
        segment_table["segment"], segment_table["group"], segment_table["rows"], strict=True)]
    positions = np.arange(len(labels))[::-1]
    figure = Figure(figsize=(10, 0.42 * len(labels) + 1.6))
    left, right = figure.subplots(1, 2, sharey=True)
    auc = segment_table["auc"].to_numpy(dtype=float)
    lowest = np.nanmin(auc) if np.isfinite(auc).any() else 0.5
    floor = min(0.4, np.floor(lowest * 10 - 0.5) / 10)
    left.barh(positions, np.nan_to_num(auc - floor, nan=0.0), left=floor, color=GOOD_COLOUR)
    for position, value in zip(positions, auc, strict=True):
        left.annotate("n/a (one class)" if np.isnan(value) else f"{value:.3f}",
                      xy=(floor if np.isnan(value) else value, position), xytext=(3, 0),
                      textcoords="offset points", va="center", fontsize=7)
    left.axvline(0.5, color="grey", linestyle=":", linewidth=0.8)
    left.set_xlim(floor, 1.0)
    left.set_xlabel("AUC")
    left.set_yticks(positions, labels, fontsize=8)
    height = 0.38
    right.barh(positions + height / 2, segment_table["bad_rate"], height=height,
               color=BAD_COLOUR, label="observed bad rate")
    right.barh(positions - height / 2, segment_table["mean_probability"], height=height,
               color="#999999", label="mean predicted PD")
    right.xaxis.set_major_formatter(PercentFormatter(1.0))
    right.set_xlabel("bad rate")
    right.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2,
                 frameon=False)
    figure.suptitle(title)
    return figure


def _reliability_curve(
    axes: Axes, is_bad: ArrayLike, probability: ArrayLike, bins: int, **style: Any
) -> float:
    """Draw one reliability curve; return the largest value drawn (for the axis limits)."""
    table = calibration_table(is_bad, probability, bins)
    axes.plot(table["mean_probability"], table["bad_rate"], marker="o", markersize=4, **style)
    return float(max(table["mean_probability"].max(), table["bad_rate"].max()))


@styled
def calibration_before_after(
    curves: Mapping[str, tuple[ArrayLike, ArrayLike, ArrayLike]], bins: int = 10,
    *, columns: int = 2,
) -> Figure:
    """One reliability diagram per split (label, raw PD, calibrated PD): the raw PD in grey and
    dashed, the calibrated PD in the split's colour, each in its own equal-frequency bins; points
    on the diagonal are calibrated. Panels run left to right, ``columns`` to a row."""
    count = max(len(curves), 1)
    columns = min(columns, count)
    rows = -(-count // columns)
    figure = Figure(figsize=(4.6 * columns, 4.1 * rows))
    panels = figure.subplots(rows, columns, squeeze=False).ravel()
    for position, (axes, (split, (is_bad, raw, calibrated))) in enumerate(
        zip(panels, curves.items(), strict=False)
    ):
        top = max(
            _reliability_curve(axes, is_bad, raw, bins, color=RAW_COLOUR, linestyle="--",
                               label="before (raw PD)"),
            _reliability_curve(axes, is_bad, calibrated, bins,
                               color=_split_colour(split, position), label="after (calibrated)"),
        )
        top = min(1.0, top * 1.08) if top > 0 else 1.0
        axes.plot([0, top], [0, top], linestyle=":", color="grey", linewidth=0.8)
        axes.set_xlim(0, top)
        axes.set_ylim(0, top)
        axes.xaxis.set_major_formatter(PercentFormatter(1.0))
        axes.yaxis.set_major_formatter(PercentFormatter(1.0))
        axes.set_xlabel("mean predicted PD", fontsize=9)
        axes.set_ylabel("observed bad rate", fontsize=9)
        axes.tick_params(labelsize=8)
        axes.legend(loc="upper left", fontsize=8)
        axes.set_title(f"{split} ({len(np.asarray(is_bad)):,} rows)", fontsize=10)
    for axes in panels[len(curves):]:
        axes.set_visible(False)
    figure.suptitle(f"Calibration before and after, by split ({bins} equal-frequency bins)")
    return figure


@styled
def roc_by_model(
    is_bad: ArrayLike, scores: Mapping[str, ArrayLike], *, title: str = "ROC by model"
) -> Figure:
    """ROC curves of several models on the same rows (name → score, higher = riskier), the first
    one drawn thicker: how a challenger compares with its benchmarks."""
    figure = Figure(figsize=(5.5, 5))
    axes = figure.subplots()
    labels = np.asarray(is_bad, dtype=bool)
    for position, (name, score) in enumerate(scores.items()):
        RocCurveDisplay.from_predictions(
            labels, np.asarray(score, dtype=float), name=name, ax=axes,
            curve_kwargs={"color": MODEL_COLOURS[position % len(MODEL_COLOURS)],
                          "linewidth": 2.2 if position == 0 else 1.4},
        )
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.legend(loc="lower right", fontsize=8)
    axes.set_title(title)
    return figure


@styled
def scorecard_points_range(
    scorecard_table: pd.DataFrame, *, title: str = "Points range per feature", top: int = 30
) -> Figure:
    """One bar per feature of a scorecard points table (columns ``feature`` and ``points``) from
    its lowest-scoring to its highest-scoring bin, widest first: how far the feature alone can
    move the score. At most ``top`` features are drawn."""
    ranges = scorecard_table.groupby("feature", sort=False)["points"].agg(["min", "max"])
    ranges = ranges.assign(width=ranges["max"] - ranges["min"])
    ranges = ranges.sort_values("width", ascending=False, kind="stable").head(top)
    positions = np.arange(len(ranges))[::-1]
    figure = Figure(figsize=(7.5, 0.3 * len(ranges) + 1.4))
    axes = figure.subplots()
    axes.barh(positions, ranges["width"], left=ranges["min"], color=GOOD_COLOUR, height=0.6)
    for position, upper, width in zip(positions, ranges["max"], ranges["width"], strict=True):
        axes.annotate(f"{width:.0f}", xy=(upper, position), xytext=(3, 0),
                      textcoords="offset points", va="center", fontsize=7)
    axes.axvline(0, color="grey", linewidth=0.8)
    axes.set_yticks(positions, [str(name) for name in ranges.index], fontsize=7)
    axes.set_xlabel("points (each bar spans the feature's lowest to highest bin)")
    axes.set_title(title)
    return figure
