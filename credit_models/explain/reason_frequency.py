"""How often each reason code is a top reason across many customers, and its figure.

Per-customer reasons are customer-level data and never logged by default; their frequency is an
aggregate a run can log: which reasons drive the PDs of a portfolio, in the Chinese and English
texts customers read. The figure shows both texts where a Chinese font is available
(:func:`~credit_models.explain.figure_style.cjk_font`), the English one alone otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from credit_models.explain.figure_style import cjk_font, styled
from credit_models.explain.reason_codes import ReasonText

FREQUENCY_COLUMNS = ("code", "text_zh", "text_en", "first_reason", "any_reason",
                     "first_share", "any_share")
_CODE_COLUMN = re.compile(r"^reason_(\d+)_code$")


def reason_frequencies(reasons: pd.DataFrame,
                       texts: Mapping[str, ReasonText] | None = None) -> pd.DataFrame:
    """One row per reason code given: how many rows have it as their first reason
    (``first_reason``) and among their top reasons (``any_reason``), as counts and as shares of
    all rows; most frequent first.

    ``reasons``: a wide reason table (``reason_1_code``, ``reason_2_code`` …, as
    :func:`~credit_models.explain.reason_codes.wide_reason_codes` makes it), one row per customer.
    ``texts``: code → texts (e.g. ``ReasonDictionary.codes()``); a code it lacks takes the texts
    of the table's own ``reason_<k>_zh``/``_en`` columns, else the code itself."""
    ranks = sorted((int(match.group(1)), column) for column in reasons.columns
                   if (match := _CODE_COLUMN.match(str(column))))
    if not ranks:
        raise ValueError("the reason table has no reason_<k>_code column; columns: "
                         f"{list(reasons.columns)[:10]}")
    codes = reasons[[column for _, column in ranks]]
    first = codes.iloc[:, 0].dropna().value_counts()
    # A code counted once per row, whatever its rank.
    stacked = codes.stack().dropna()
    anywhere = stacked.reset_index(level=-1, drop=True).groupby(level=0).unique().explode()
    any_reason = anywhere.value_counts()
    table = pd.DataFrame({"any_reason": any_reason,
                          "first_reason": first.reindex(any_reason.index, fill_value=0)})
    table = table.rename_axis("code").reset_index()
    rows = max(len(reasons), 1)
    table["first_share"] = table["first_reason"] / rows
    table["any_share"] = table["any_reason"] / rows
    own = _own_texts(reasons, ranks)
    known = dict(texts or {})
    for language in ("zh", "en"):
        table[f"text_{language}"] = [
            getattr(known[code], language) if code in known
            else own.get((code, language), code) for code in table["code"]]
    table = table.sort_values(["any_reason", "first_reason", "code"],
                              ascending=[False, False, True], kind="stable")
    return table[list(FREQUENCY_COLUMNS)].reset_index(drop=True)


def _own_texts(reasons: pd.DataFrame, ranks: list[tuple[int, str]]) -> dict[tuple[str, str], str]:
    """(code, language) → the most frequent text the table gives that code."""
    found: dict[tuple[str, str], str] = {}
    for rank, code_column in ranks:
        for language in ("zh", "en"):
            column = f"reason_{rank}_{language}"
            if column not in reasons.columns:
                continue
            pairs = reasons[[code_column, column]].dropna()
            for code, group in pairs.groupby(code_column)[column]:
                found.setdefault((str(code), language), str(group.value_counts().index[0]))
    return found


def reason_label(row: pd.Series, chinese: bool) -> str:
    """A reason's label on the figure: the Chinese text over ``en (CODE)``, or ``en (CODE)``
    alone without a Chinese font."""
    english = f"{row['text_en']} ({row['code']})"
    return f"{row['text_zh']}\n{english}" if chinese and row["text_zh"] else english


@styled
def reason_frequency_figure(frequencies: pd.DataFrame, *, top: int = 15,
                            population: str = "customers") -> Figure:
    """Horizontal bars of the ``top`` most frequent reasons: the share of ``population`` that
    has the reason among its top reasons, and (darker) as its first reason."""
    missing = set(FREQUENCY_COLUMNS) - set(frequencies.columns)
    if missing:
        raise ValueError(f"frequencies lack column(s) {sorted(missing)}; pass "
                         "reason_frequencies()'s table")
    shown = frequencies.head(top).iloc[::-1]
    chinese = cjk_font() is not None
    labels = [reason_label(row, chinese) for _, row in shown.iterrows()]
    positions = np.arange(len(shown))
    figure = Figure(figsize=(9, (0.5 if chinese else 0.34) * len(shown) + 1.5))
    axes = figure.subplots()
    axes.barh(positions, shown["any_share"], color="#9fb8d3", height=0.7,
              label="among the top reasons")
    axes.barh(positions, shown["first_share"], color="#2f5d8a", height=0.7,
              label="first reason")
    for position, share in zip(positions, shown["any_share"], strict=True):
        axes.annotate(f"{share:.0%}", xy=(share, position), xytext=(3, 0),
                      textcoords="offset points", va="center", fontsize=7)
    axes.set_yticks(positions, labels)
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes.margins(x=0.08)
    axes.set_xlabel(f"share of {population}")
    figure.suptitle(f"How often each reason is a top reason ({len(frequencies)} reasons given, "
                    f"the {len(shown)} most frequent shown)")
    axes.legend(loc="lower right")
    axes.grid(axis="y", visible=False)
    return figure
