"""The validation report's "Scorecard points" section: a scorecard's points table grouped by
feature, each group headed by the feature's coefficient and points range, and the plot of those
ranges. Its own module because a points table is read differently from every other table: by
feature, bin after bin."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from credit_models.reporting import html as page
from credit_models.reporting.plots import scorecard_points_range

SCORECARD_COLUMNS = ("feature", "bin", "count", "bad_rate", "woe", "coefficient", "points")
"""The columns a points table must have, one row per feature and bin."""


def _bin_text(value: Any) -> str:
    """A bin label: an interval as it is, a list of categories joined by commas."""
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(str(item) for item in value)
    return page.text(value)


_COLUMNS = (
    page.Column("bin", "Bin", _bin_text, numeric=False),
    page.Column("count", "Count", page.count),
    page.Column("share", "Share", page.percent(1)),
    page.Column("bad_rate", "Bad rate", page.percent(2)),
    page.Column("woe", "WoE", page.number(3)),
    page.Column("points", "Points", page.number(1)),
)


def _feature_rows(feature: str, part: pd.DataFrame, description: str) -> str:
    """One feature's group of the points table: a heading row, then one row per bin."""
    coefficients = part["coefficient"].dropna().unique()
    points = part["points"].astype(float)
    heading = [f'<span class="feature-name">{escape(feature)}</span>']
    if description:
        heading.append(f'<span class="description">{escape(description)}</span>')
    facts = []
    if len(coefficients):
        facts.append("coefficient " + ", ".join(f"{float(value):.3f}" for value in coefficients))
    if points.notna().any():
        facts.append(f"points {points.min():.1f} to {points.max():.1f} "
                     f"(range {points.max() - points.min():.1f})")
    if facts:
        heading.append(f'<span class="facts">{escape(" · ".join(facts))}</span>')
    cells = "".join(
        "<tr>" + "".join(column.td(row[column.name]) for column in _COLUMNS) + "</tr>"
        for _, row in part.iterrows()
    )
    return (
        f'<tbody class="feature-group"><tr><th class="group" colspan="{len(_COLUMNS)}">'
        + " ".join(heading) + "</th></tr>" + cells + "</tbody>"
    )


def _hidden_note(empty: pd.DataFrame) -> str:
    """What the hidden empty bins are and what they score."""
    points = empty["points"].astype(float).dropna()
    if points.empty:
        scores = ""
    elif points.min() == points.max():
        scores = f"; a value falling in one scores {points.min():.1f} points"
    else:
        scores = f"; a value falling in one scores {points.min():.1f} to {points.max():.1f} points"
    return page.note(
        f"{len(empty)} empty bin(s) not shown: special or missing values no development row "
        f"had, in {empty['feature'].nunique()} feature(s){scores}."
    )


def scorecard_section_body(table: pd.DataFrame, descriptions: Mapping[str, str]) -> str:
    """How to read the points table, the table grouped by feature (in the order of ``table``,
    each feature with its description from ``descriptions``) and the points-range plot. Bins
    no development row fell in (count 0: a special or missing bin never seen) are left out of
    the table, the ranges and the plot, and counted in a note."""
    table = table.reset_index(drop=True).copy()
    empty = table["count"].fillna(0).astype(float) == 0
    hidden, table = table[empty], table[~empty].reset_index(drop=True)
    counts = table["count"].astype(float)
    table["share"] = counts / counts.groupby(table["feature"], sort=False).transform("sum")
    head = "".join(column.th() for column in _COLUMNS)
    groups = "".join(
        _feature_rows(str(feature), part, descriptions.get(feature, ""))
        for feature, part in table.groupby("feature", sort=False)
    )
    features = table["feature"].nunique()
    return "".join((
        page.how(
            f"The scorecard's {features} feature(s), each with its bins in order: count and "
            "share of the feature's rows, bad rate, WoE = ln(%good / %bad) (positive: fewer bads "
            "than average) and the points the bin adds to the score. The coefficient is the "
            "regression weight of the feature's WoE; a bin's points follow coefficient × WoE, "
            "so points should move with the bad rate, bin by bin, in one direction."
        ),
        page.scrolling(f'<table class="scorecard"><thead><tr>{head}</tr></thead>'
                       f"{groups}</table>"),
        _hidden_note(hidden) if len(hidden) else "",
        page.single(
            page.figure(
                scorecard_points_range(table, title="Scorecard: points range per feature"),
                "Scorecard points range per feature",
                "Each bar spans a feature's lowest- to highest-scoring bin (points follow "
                "coefficient × WoE): the widest bars are the features that can move a "
                "customer's score the most.",
            ),
        ),
    ))
