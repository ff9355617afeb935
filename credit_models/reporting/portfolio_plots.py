"""Portfolio figures drawn before any model: volume by month, vintage curves and the roll-rate
matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter, MaxNLocator, PercentFormatter

from credit_models.explain.figure_style import styled, use_file_backend
from credit_models.labels.vintage import RollRates

use_file_backend()

LEGEND_COHORTS = 8
"""At most this many cohorts are named in the legend (evenly spaced, oldest and newest kept)."""


PEAK_MONTHS = {6: "618", 11: "Double 11"}
"""The promotion months whose bars are drawn in the peak colour."""


@styled
def monthly_volume_plot(monthly: pd.DataFrame, *, title: str = "Order amount by month") -> Figure:
    """Order amount per calendar month (``month`` as YYYY-MM, ``amount``), the 618 (June) and
    Double 11 (November) months in red: the peaks a limit must carry."""
    figure = Figure(figsize=(11, 3.4))
    axes = figure.subplots()
    positions = np.arange(len(monthly))
    peak = monthly["month"].str[-2:].astype(int).isin(list(PEAK_MONTHS))
    axes.bar(positions, monthly["amount"].to_numpy(), color=np.where(peak, "#c44e52", "#4c72b0"))
    axes.set_xticks(positions, monthly["month"], rotation=60, ha="right")
    axes.yaxis.set_major_formatter(EngFormatter())
    axes.set_ylabel("order amount")
    axes.set_title(f"{title} (red: {', '.join(PEAK_MONTHS.values())} months)")
    return figure


@styled
def vintage_curves_plot(curves: pd.DataFrame, *, at_months_on_book: int = 6,
                        title: str = "Vintage curves") -> Figure:
    """Left: each cohort's cumulative bad share by months on book (old cohorts pale, new dark).
    Right: every cohort's bad share at ``at_months_on_book`` months, so a cohort booked worse
    stands out even where its curve is short."""
    figure = Figure(figsize=(11, 4.2))
    left, right = figure.subplots(1, 2, width_ratios=(3, 2))
    cohorts = sorted(curves["cohort"].unique())
    colours = colormaps["viridis_r"](np.linspace(0.15, 0.95, max(len(cohorts), 1)))
    named = set(np.array(cohorts)[np.unique(np.linspace(0, len(cohorts) - 1,
                                                        min(LEGEND_COHORTS, len(cohorts)),
                                                        dtype=int))]) if cohorts else set()
    for colour, cohort in zip(colours, cohorts, strict=True):
        curve = curves[curves["cohort"] == cohort]
        left.plot(curve["months_on_book"], curve["bad_share"], color=colour, linewidth=1.2,
                  label=cohort if cohort in named else "_nolegend_")
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("months on book")
    left.set_ylabel("cumulative share ever bad")
    left.yaxis.set_major_formatter(PercentFormatter(1.0))
    left.legend(title="cohort", ncols=2)
    left.set_title(title)
    at = curves[curves["months_on_book"] == at_months_on_book]
    positions = np.arange(len(at))
    right.bar(positions, at["bad_share"], color="#4c72b0")
    right.set_xticks(positions, at["cohort"], rotation=60, ha="right")
    right.yaxis.set_major_formatter(PercentFormatter(1.0))
    right.set_title(f"Bad share at {at_months_on_book} months on book, by cohort")
    return figure


@styled
def roll_rate_heatmap(rates: RollRates, *, title: str = "Roll rates, month to month") -> Figure:
    """The transition matrix as shares of each from-bucket, with the accounts behind each row."""
    shares = rates.shares
    figure = Figure(figsize=(6.5, 4.8))
    axes = figure.subplots()
    axes.grid(False)
    image = axes.imshow(shares.fillna(0.0).to_numpy(), cmap="Blues", vmin=0.0, vmax=1.0)
    for row, column in np.ndindex(shares.shape):
        value = shares.iat[row, column]
        if np.isfinite(value) and value > 0:
            axes.text(column, row, f"{value:.1%}", ha="center", va="center", fontsize=8,
                      color="white" if value > 0.6 else "black")
    totals = rates.counts.sum(axis=1)
    axes.set_xticks(range(shares.shape[1]), shares.columns)
    axes.set_yticks(range(shares.shape[0]),
                    [f"{bucket}  (n={total:,})" for bucket, total in totals.items()])
    axes.set_xlabel("days past due a month later")
    axes.set_ylabel("days past due now")
    axes.set_title(f"{title} ({rates.transitions} transitions)")
    figure.colorbar(image, ax=axes, format=PercentFormatter(1.0), shrink=0.8)
    return figure
