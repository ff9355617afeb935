"""Plots that go into a run's artifacts: what a reviewer looks at before reading numbers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import RocCurveDisplay  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd


def roc_by_split(curves: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    """One ROC curve per split (label, score), so over-fitting and drift show at a glance."""
    figure, axes = plt.subplots(figsize=(5.5, 5))
    for split, (is_bad, score) in curves.items():
        RocCurveDisplay.from_predictions(is_bad, score, name=split, ax=axes)
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.set_title("ROC by split (bad = positive class)")
    figure.tight_layout()
    return figure


def bad_rate_by_snapshot(as_of: list[str], bad_rate: list[float], rows: list[int]) -> Figure:
    """Labelled rows and bad rate per snapshot: where the label population comes from."""
    figure, left = plt.subplots(figsize=(8, 4))
    positions = np.arange(len(as_of))
    left.bar(positions, rows, color="#c9d6e3", label="labelled snapshots")
    left.set_ylabel("labelled rows")
    left.set_xticks(positions, as_of, rotation=60, ha="right", fontsize=7)
    right = left.twinx()
    right.plot(positions, bad_rate, color="#b03a2e", marker="o", label="bad rate")
    right.set_ylabel("bad rate")
    left.set_title("Label population and bad rate by snapshot")
    figure.tight_layout()
    return figure


def top_features_bar(importance: pd.Series, title: str, top: int = 20) -> Figure:
    """Horizontal bars of the largest values, biggest on top."""
    shown = importance.head(top)[::-1]
    figure, axes = plt.subplots(figsize=(7, 0.3 * len(shown) + 1.2))
    axes.barh(shown.index, shown.to_numpy(), color="#4c72b0")
    axes.set_title(title)
    axes.tick_params(axis="y", labelsize=7)
    figure.tight_layout()
    return figure
