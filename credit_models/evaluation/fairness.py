"""Fairness review: approval, PD (and limits) by age band and by each other sensitive group.

For every sensitive feature present in the data (:class:`~credit_models.features.sensitive.
SensitiveAttributes`), customers are grouped by its value (age in bands, other many-valued
numbers in quartiles, codes and categories as they are, missing as ``unknown``) and each group
gets its approval rate (PD below the cut-off), mean PD, observed bad rate and, for a limit
policy, mean limit. Disparity is read against the most favoured group of the same feature:

- ``approval_ratio`` = the group's approval rate / the highest group approval rate. Below 0.8 the
  four-fifths rule flags adverse impact (``adverse_impact``).
- ``pd_ratio`` = the group's mean PD / the lowest group mean PD (1 = as favoured as the best).
- ``limit_ratio`` = the group's mean limit / the highest group mean limit.

A group of fewer than ``min_group_rows`` customers keeps its row count but none of its rates,
PDs or limits (NaN), and takes no part in the ratios: a logged review is an aggregate, never
one customer's PD and limit beside their age band.

The review also says whether each sensitive feature is a model input: a disparity with the
attribute kept out of the model comes through correlated features, one with it in the model may
come from the attribute itself. Plain DataFrames in and out; nothing of MLflow or Hydra.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from credit_models.explain.figure_style import styled
from credit_models.features.sensitive import SensitiveAttributes

FOUR_FIFTHS = 0.8
"""An approval ratio below this flags adverse impact (the four-fifths rule)."""
UNKNOWN_GROUP = "unknown"
MAX_CATEGORIES = 12
"""A numeric attribute with more distinct values than this (other than age) is cut in quartiles."""
GROUP_COLUMNS = ("attribute", "feature", "group", "rows", "share", "approval_rate",
                 "approval_ratio", "adverse_impact", "mean_pd", "pd_ratio", "bad_rate")
LIMIT_COLUMNS = ("mean_limit", "limit_ratio")


@dataclass(frozen=True)
class FairnessReview:
    """``groups``: one row per (sensitive feature, group), columns :data:`GROUP_COLUMNS` (and
    :data:`LIMIT_COLUMNS` when limits were given). ``attributes``: one row per sensitive feature
    found (``attribute``, ``feature``, ``model_input``). ``absent``: the listed attributes no
    feature of the data carries."""

    groups: pd.DataFrame
    attributes: pd.DataFrame
    absent: tuple[str, ...]
    approval_pd_cutoff: float


def age_band_labels(edges: Sequence[float]) -> list[str]:
    """``[25, 35]`` → ``["< 25", "25–34", "35+"]`` (ages in whole years)."""
    inner = [f"{_years(low)}–{_years(high - 1)}" for low, high in pairwise(edges)]
    return [f"< {_years(edges[0])}", *inner, f"{_years(edges[-1])}+"]


def _years(value: float) -> str:
    return f"{value:g}"


def _groups_of(values: pd.Series, attribute: str, age_bands: Sequence[float]) -> pd.Series:
    """Each row's group label, as a categorical in reading order (bands low to high, codes
    sorted), missing values in :data:`UNKNOWN_GROUP` last."""
    numeric = (pd.api.types.is_numeric_dtype(values.dtype)
               and not isinstance(values.dtype, pd.CategoricalDtype)
               and not pd.api.types.is_bool_dtype(values.dtype))
    if numeric and attribute == "age" and age_bands:
        banded = pd.cut(values.astype("float64"), [-np.inf, *age_bands, np.inf], right=False,
                        labels=age_band_labels(age_bands))
    elif numeric and values.nunique() > MAX_CATEGORIES:
        banded = pd.qcut(values.astype("float64"), 4, duplicates="drop")
        banded = banded.cat.rename_categories([str(band) for band in banded.cat.categories])
    else:
        present = values.dropna()
        order = sorted(present.unique()) if numeric else sorted(present.astype(str).unique())
        shown = {value: f"{value:g}" if isinstance(value, float | np.floating) else str(value)
                 for value in order}
        banded = pd.Categorical(values.map(shown) if numeric else values.astype(object).map(
            lambda value: None if pd.isna(value) else str(value)),
            categories=list(dict.fromkeys(shown.values())))
        banded = pd.Series(banded, index=values.index)
    labels = banded.cat.add_categories([UNKNOWN_GROUP])
    return labels.fillna(UNKNOWN_GROUP)


def fairness_review(
    probability: ArrayLike,
    features: pd.DataFrame,
    sensitive: SensitiveAttributes,
    *,
    model_inputs: Iterable[str],
    approval_pd_cutoff: float,
    age_bands: Sequence[float] = (25, 35, 45, 55),
    is_bad: ArrayLike | None = None,
    limit: ArrayLike | None = None,
    min_group_rows: int = 1,
) -> FairnessReview:
    """The review of one sample (e.g. the test split): ``probability`` the PD of each row of
    ``features`` (by position), ``model_inputs`` the model's features, ``is_bad`` the observed
    outcome (optional), ``limit`` the decided credit limit (optional), ``min_group_rows`` the
    smallest group whose figures are shown."""
    if not 0 < approval_pd_cutoff < 1:
        raise ValueError(f"approval_pd_cutoff must be in (0, 1); got {approval_pd_cutoff!r}")
    if int(min_group_rows) < 1:
        raise ValueError(f"min_group_rows must be >= 1; got {min_group_rows!r}")
    if list(age_bands) != sorted(set(age_bands)):
        raise ValueError(f"age_bands must be strictly increasing; got {list(age_bands)}")
    pd_values = np.asarray(probability, dtype="float64")
    if len(pd_values) != len(features):
        raise ValueError(f"probability has {len(pd_values)} values for {len(features)} rows")
    base = pd.DataFrame({"approved": pd_values < approval_pd_cutoff, "pd": pd_values})
    if is_bad is not None:
        base["bad"] = np.asarray(is_bad, dtype="float64")
    if limit is not None:
        base["limit"] = np.asarray(limit, dtype="float64")
    found = sensitive.features(features.columns)
    used = set(model_inputs)
    tables = []
    for feature, attribute in found.items():
        labels = _groups_of(features[feature].reset_index(drop=True), attribute, age_bands)
        tables.append(_group_table(base, labels, attribute, feature, int(min_group_rows)))
    columns = list(GROUP_COLUMNS) + (list(LIMIT_COLUMNS) if limit is not None else [])
    groups = (pd.concat(tables, ignore_index=True) if tables
              else pd.DataFrame(columns=columns))[columns]
    attributes = pd.DataFrame({"attribute": list(found.values()), "feature": list(found),
                               "model_input": [name in used for name in found]})
    absent = tuple(name for name in sensitive.patterns if name not in set(found.values()))
    return FairnessReview(groups, attributes, absent, float(approval_pd_cutoff))


def _group_table(base: pd.DataFrame, labels: pd.Series, attribute: str, feature: str,
                 min_group_rows: int) -> pd.DataFrame:
    grouped = base.groupby(labels.rename("group").reset_index(drop=True), observed=True,
                           sort=True)
    table = pd.DataFrame({
        "rows": grouped.size(),
        "approval_rate": grouped["approved"].mean(),
        "mean_pd": grouped["pd"].mean(),
        "bad_rate": grouped["bad"].mean() if "bad" in base else np.nan,
    })
    if "limit" in base:
        table["mean_limit"] = grouped["limit"].mean()
    too_small = table["rows"] < min_group_rows
    table.loc[too_small, table.columns.drop("rows")] = np.nan
    if "limit" in base:
        table["limit_ratio"] = _ratio(table["mean_limit"], table["mean_limit"].max())
    table["share"] = table["rows"] / len(base)
    table["approval_ratio"] = _ratio(table["approval_rate"], table["approval_rate"].max())
    table["adverse_impact"] = table["approval_ratio"] < FOUR_FIFTHS
    table["pd_ratio"] = _ratio(table["mean_pd"], table["mean_pd"].min())
    table = table.rename_axis("group").reset_index()
    table["group"] = table["group"].astype(str)
    table.insert(0, "feature", feature)
    table.insert(0, "attribute", attribute)
    return table


def _ratio(values: pd.Series, reference: float) -> pd.Series:
    """values / reference, NaN where the reference is 0 (no group approved, a PD of 0)."""
    return values / reference if reference > 0 else pd.Series(np.nan, index=values.index)


def approval_ratio_plot(review: FairnessReview) -> Figure:
    """One bar per group: its approval rate over the most favoured group's, per sensitive
    feature, with the four-fifths line (bars below it in red)."""
    return _ratio_bars(review, "approval_ratio", "approval rate / best group's",
                       flag=review.groups["adverse_impact"])


def limit_ratio_plot(review: FairnessReview) -> Figure:
    """One bar per group: its mean limit over the highest group mean limit, per sensitive
    feature (a review built with ``limit=``)."""
    if "limit_ratio" not in review.groups:
        raise ValueError("the fairness review has no limits: build it with limit=")
    return _ratio_bars(review, "limit_ratio", "mean limit / best group's", flag=None)


@styled
def _ratio_bars(review: FairnessReview, column: str, label: str,
                flag: pd.Series | None) -> Figure:
    """One panel per sensitive feature, one bar per group; with ``flag``, the four-fifths line
    and the flagged bars in red."""
    groups = review.groups
    features = list(dict.fromkeys(groups["feature"]))
    figure = Figure(figsize=(4.2 * max(len(features), 1), 3.4))
    axes = figure.subplots(1, max(len(features), 1), squeeze=False)[0]
    for axis, feature in zip(axes, features, strict=False):
        chosen = (groups["feature"] == feature).to_numpy()
        part = groups[chosen]
        ratio = part[column].fillna(0.0).to_numpy()
        flagged = (np.zeros(len(part), dtype=bool) if flag is None
                   else flag.to_numpy(dtype=bool)[chosen])
        axis.bar(part["group"].astype(str), ratio, color=np.where(flagged, "#c0392b", "#2f5d8a"))
        if flag is not None:
            axis.axhline(FOUR_FIFTHS, color="#8a5a00", linestyle="--", linewidth=1,
                         label="four-fifths (0.8)")
            axis.legend(loc="upper right")
        axis.set_ylim(0, 1.25)
        axis.set_title(f"{part['attribute'].iloc[0]} ({feature})")
        axis.set_ylabel(label)
        axis.tick_params(axis="x", labelrotation=30)
    return figure
