"""The limit run's HTML report and figures: backtest comparison and frontier, stress test, limits
by PD band, capacity model quality, approval and limits by sensitive group — one self-contained
page (figures embedded) a credit committee can open from the MLflow run."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from credit_models.evaluation.fairness import FairnessReview
from credit_models.explain.figure_style import styled
from credit_models.limits.review import GUARDRAILS
from credit_models.reporting import html as page
from credit_models.reporting.fairness_section import FAIRNESS_HEADING, fairness_section_body


@styled
def limits_by_band_figure(by_band: pd.DataFrame, columns: Sequence[str],
                          labels: Sequence[str]) -> Figure:
    """Mean limit per PD band, one bar per limit column (e.g. granted vs recommended)."""
    figure = Figure(figsize=(8, 4.5))
    axis = figure.subplots()
    positions = np.arange(len(by_band))
    width = 0.8 / len(columns)
    for offset, (column, label) in enumerate(zip(columns, labels, strict=True)):
        axis.bar(positions + (offset - (len(columns) - 1) / 2) * width,
                 by_band[f"{column}_mean"], width=width, label=label)
    axis.set_xticks(positions, [f"{band}\n{count:,} customers" for band, count
                                in zip(by_band.index, by_band["customers"], strict=True)])
    axis.set_xlabel("PD band")
    axis.set_ylabel("mean limit")
    axis.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axis.set_title("Limits by PD band")
    axis.legend()
    return figure


_ACRONYMS = {"pd": "PD", "ead": "EAD", "lgd": "LGD", "mape": "MAPE", "auc": "AUC", "psi": "PSI",
             "el": "EL"}
_HEADERS = {"pd_band": "PD band", "customers": "Customers", "policy": "Policy",
            "scenario": "Scenario", "segment": "Segment",
            "current_limit_mean": "Granted (mean)", "current_limit_median": "Granted (median)",
            "target_limit_mean": "Target (mean)", "target_limit_median": "Target (median)",
            "new_limit_mean": "After review (mean)", "new_limit_median": "After review (median)"}
_PERCENT = re.compile(r"(^|_)(rate|share|utilisation|lgd)$|^(mean_pd|pd)$|^(coverage|mape)_q\d+$")
"""Columns of shares and probabilities, shown as percentages."""
TABLE_CSS = "thead th.num { white-space: normal; min-width: 4.2em; }"
"""Numeric headers wrap (their cells do not), so that a wide result table fits the page."""


def header(name: object) -> str:
    """A plain column header from a result column's name: ``current_limit_mean`` → "Current limit
    (mean)", ``declined_order_rate/618`` → "Declined order rate (618)", ``mean_pd`` → "Mean PD"."""
    name = str(name)
    if name in _HEADERS:
        return _HEADERS[name]
    base, _, part = name.partition("/")
    words = [word for word in base.split("_") if word]
    suffix = f" ({words.pop()})" if len(words) > 1 and words[-1] in ("mean", "median") else ""
    text = " ".join(_ACRONYMS.get(word, word) for word in words) or name
    text = text[0].upper() + text[1:] + suffix
    return text + (f" ({part.replace('_', ' ')})" if part else "")


def column_format(name: object, values: pd.Series, digits: int = 4) -> page.Formatter:
    """The one number format of a result column: shares and PDs as percentages; whole numbers
    (counts, rounded limits) and amounts from 100 up with thousands separators and no decimals;
    smaller values to 2 decimals, below 1 to ``digits``. Never scientific notation."""
    if _PERCENT.search(str(name).partition("/")[0]):
        return page.percent(2)
    finite = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0 or np.all(finite == np.round(finite)):
        return page.count
    largest = float(np.abs(finite).max())
    if largest >= 100:
        return page.amount
    return page.number(2 if largest >= 1 else digits)


def _label(value: object) -> str:
    """An index value as text: a whole float as an integer (segment ``1.0`` → ``1``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return page.text(value)


def result_table(frame: pd.DataFrame, digits: int = 4) -> tuple[str, list[str]]:
    """A result table (its index as the first column) in the page kit's table, with plain headers
    and one number format per column; a numeric column with one value in every row (of three or
    more) is left out of the table and returned as a fact ("Customers: 2,186") instead, so the
    table keeps to the page's width."""
    shown = frame.reset_index() if _has_index(frame) else frame.copy()
    facts, columns = [], []
    for name in shown.columns:
        values = shown[name]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            shown[name] = values.map(_label)
            columns.append(page.Column(name, header(name), numeric=False))
            continue
        formatter = column_format(name, values, digits)
        if len(shown) >= 3 and values.nunique(dropna=False) == 1:
            facts.append(f"{header(name)}: {formatter(values.iloc[0])}")
            continue
        columns.append(page.Column(name, header(name), formatter))
    return page.table(shown, columns), facts


def _has_index(frame: pd.DataFrame) -> bool:
    return any(name is not None for name in frame.index.names) or not isinstance(
        frame.index, pd.RangeIndex)


def limit_report(title: str, details: Mapping[str, str], sections: Sequence[tuple[str, str]],
                 ) -> str:
    """A page of ``sections`` (heading, HTML body) under a details table."""
    top = page.page_header(title, "", details.items())
    body = "\n".join(page.section(page.anchor(heading), heading, content)
                     for heading, content in sections)
    return page.document(title, top + "\n" + body, css=TABLE_CSS)


def table_section(frame: pd.DataFrame, note: str = "", digits: int = 4) -> str:
    """A result table (:func:`result_table`) with the line that says how to read it and the
    values every row shares."""
    table, facts = result_table(frame, digits)
    shared = page.how("In every row: " + "; ".join(facts) + ".") if facts else ""
    return (page.how(note) if note else "") + shared + table


def image_section(png: bytes, alt: str, note: str = "") -> str:
    """A figure (PNG bytes, :func:`~credit_models.reporting.html.figure_png`) with the line that
    says how to read it."""
    return (page.how(note) if note else "") + page.image(png, alt)


def fairness_section(review: FairnessReview, population: str) -> tuple[str, str]:
    """The (heading, body) of the fairness section: approval and recommended limit by age band
    and each other sensitive group, drawn exactly as the validation report draws it.
    ``population``: the customers reviewed, e.g. ``"The policy's 4,000 customers at 2024-01-01"``."""
    return FAIRNESS_HEADING, fairness_section_body(review, population)


GUARDRAIL_HEADING = "Limits kept above target"
GUARDRAIL_NAMES = {
    "max_raise_step": "Max raise per review",
    "ceiling": "Ceiling",
    "no_raise_after_delinquency": "No raise after a delinquency",
    "min_months_between_raises": "Months between raises",
    "min_change": "Within the minimum change",
    "cut_pd_threshold": "PD below the cut threshold",
    "max_cut_share": "Max cut per review",
    "floor": "Floor",
    "utilisation_protection": "Utilisation protection",
}
"""Each guardrail of :data:`credit_models.limits.review.GUARDRAILS` as the report names it."""


def guardrail_table(customers: pd.DataFrame) -> pd.DataFrame:
    """Per PD band: customers, mean target and mean limit after the review, how many customers the
    review leaves above their target, and how many of those each guardrail held (one column per
    guardrail that held any). ``customers``: the decisions' customers (``pd_band``,
    ``target_limit``, ``new_limit``, ``review_guardrail``)."""
    needed = ["pd_band", "target_limit", "new_limit", "review_guardrail"]
    missing = [name for name in needed if name not in customers.columns]
    if missing:
        raise ValueError(f"the decisions' customers lack column(s) {missing}: the guardrail table "
                         "needs the review's output (credit_models.limits.review)")
    above = customers["new_limit"] > customers["target_limit"]
    unknown = sorted(set(customers["review_guardrail"]) - set(GUARDRAILS) - {""})
    if unknown:
        raise ValueError(f"review_guardrail has unknown value(s) {unknown}; known: {GUARDRAILS}")
    grouped = customers.groupby("pd_band", observed=True)
    table = pd.DataFrame({
        "customers": grouped.size(),
        "target_limit_mean": grouped["target_limit"].mean(),
        "new_limit_mean": grouped["new_limit"].mean(),
        "above_target": above.groupby(customers["pd_band"], observed=True).sum(),
    })
    held = pd.crosstab(customers.loc[above, "pd_band"], customers.loc[above, "review_guardrail"])
    for guardrail in GUARDRAILS:
        if guardrail in held.columns:
            table[guardrail] = held[guardrail].reindex(table.index, fill_value=0)
    return table.fillna(0)


def guardrail_lines(table: pd.DataFrame, bands: int = 3) -> list[str]:
    """One line for each of the ``bands`` PD bands whose limits after review stand furthest above
    their target: the gap and the guardrails that held it, most customers first."""
    gap = (table["new_limit_mean"] - table["target_limit_mean"]).sort_values(ascending=False)
    lines = []
    for band in gap[gap > 0].index[:bands]:
        row = table.loc[band]
        held = sorted(((int(row[name]), GUARDRAIL_NAMES[name]) for name in GUARDRAILS
                       if name in row.index and row[name] > 0), reverse=True)
        reasons = ", ".join(f"{_lower_first(name)} {count:,}" for count, name in held) or "none"
        lines.append(f"Band {band}: target {page.amount(row['target_limit_mean'])} on average, "
                     f"{page.amount(row['new_limit_mean'])} after the review; "
                     f"{int(row['above_target']):,} of {int(row['customers']):,} customers kept "
                     f"above their target, held by: {reasons}.")
    return lines


def _lower_first(name: str) -> str:
    """A name inside a sentence: "Floor" → "floor", "PD below …" kept."""
    return name if name[:2].isupper() else name[0].lower() + name[1:]


def guardrail_section(customers: pd.DataFrame) -> tuple[str, str]:
    """The (heading, body) of the section that says which guardrail kept limits above the
    policy's target, band by band."""
    table = guardrail_table(customers)
    facts = guardrail_lines(table)
    columns = [page.Column("pd_band", "PD band", numeric=False),
               page.Column("customers", "Customers", page.count),
               page.Column("target_limit_mean", "Target (mean)", page.amount),
               page.Column("new_limit_mean", "After review (mean)", page.amount),
               page.Column("above_target", "Kept above target", page.count),
               *(page.Column(name, GUARDRAIL_NAMES[name], page.count)
                 for name in GUARDRAILS if name in table.columns)]
    body = (page.how("The review moves a limit towards the policy's target only as far as its "
                     "guardrails allow: max raise or cut per review, the ceiling and the floor, no "
                     "raise after a delinquency or too soon after the last one, no cut below the "
                     "PD threshold, and utilisation protection (no cut below the balance plus the "
                     "customer's peak month). The counts say which guardrail held each customer "
                     "kept above target.")
            + (page.fact_list(facts) if facts else page.note("No limit is kept above its target."))
            + page.table(table.reset_index(), columns))
    return GUARDRAIL_HEADING, body


@styled
def closed_loop_figure(comparison: pd.DataFrame, campaigns: Sequence[str]) -> Figure:
    """Per policy simulated in closed loop: declined orders overall and in each campaign window
    (left), realised loss and revenue (right)."""
    figure = Figure(figsize=(11, 4.5))
    declines, money = figure.subplots(1, 2, width_ratios=(3, 2))
    groups = ["declined_order_rate", *(f"declined_order_rate/{name}" for name in campaigns)]
    names = ["all orders", *campaigns]
    policies = list(comparison.index)
    width = 0.8 / len(policies)
    positions = np.arange(len(groups))
    for offset, policy in enumerate(policies):
        shift = (offset - (len(policies) - 1) / 2) * width
        bars = declines.bar(positions + shift, 100 * comparison.loc[policy, groups].to_numpy(float),
                            width=width, label=policy)
        declines.bar_label(bars, fmt="%.1f", fontsize=8)
        money.bar(np.arange(2) + shift,
                  comparison.loc[policy, ["realised_loss", "revenue"]].to_numpy(float),
                  width=width, label=policy)
    declines.set_xticks(positions, names)
    declines.set_ylabel("orders declined for insufficient limit (%)")
    declines.set_title("Declined orders, closed loop")
    declines.legend()
    money.set_xticks(np.arange(2), ["realised loss\n(written off)", "revenue\n(interest + fees)"])
    money.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    money.set_title("Loss and revenue, closed loop")
    return figure
