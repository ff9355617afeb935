"""The HTML toolkit every report is written with: one page shell and stylesheet, tables of typed
columns, figures embedded as base64 PNG, sections, notes, "how to read" lines, formatters and
status badges.

A page made with it is self-contained (inline CSS, no script, no external resource), so it can be
attached to an e-mail, logged as a run artifact or archived as it is. Text is escaped here, once:
a caller passes plain text, and only the arguments documented as HTML are taken as markup.
The module knows nothing of models, the experiment tracker or the config system.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

MISSING = "–"
"""What a formatter shows for a missing value (None, NaN, ``pd.NA``)."""

Formatter = Callable[[Any], str]

# ---------------------------------------------------------------------------------------------
# Formatters: value → text; every one shows a missing value as MISSING
# ---------------------------------------------------------------------------------------------


def is_missing(value: Any) -> bool:
    """None, a float NaN or ``pd.NA``."""
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def number(digits: int = 3) -> Formatter:
    """Fixed decimals: ``number(3)(0.12345)`` → ``0.123``."""
    return lambda value: MISSING if is_missing(value) else f"{float(value):.{digits}f}"


def percent(digits: int = 1) -> Formatter:
    """A share as a percentage: ``percent(1)(0.1234)`` → ``12.3%``."""
    return lambda value: MISSING if is_missing(value) else f"{float(value):.{digits}%}"


def signed(digits: int = 3) -> Formatter:
    """A change, always with its sign: ``signed(3)(0.01)`` → ``+0.010``."""
    return lambda value: MISSING if is_missing(value) else f"{float(value):+.{digits}f}"


def count(value: Any) -> str:
    """A whole number with thousands separators: 12345 → ``12,345``."""
    return MISSING if is_missing(value) else f"{int(value):,}"


def amount(value: Any) -> str:
    """An amount of money in whole units with thousands separators: 12345.6 → ``12,346``."""
    return MISSING if is_missing(value) else f"{float(value):,.0f}"


def odds(value: Any) -> str:
    """Odds against one: 12.34 → ``12.3 : 1``, infinite odds ``∞``."""
    if is_missing(value):
        return MISSING
    return "∞" if np.isinf(value) else f"{float(value):.1f} : 1"


def short_percent(value: float) -> str:
    """A probability limit as a short percentage: 0.075 → ``7.5%``; infinite limits ``±∞``."""
    return f"{100 * value:.3g}%" if np.isfinite(value) else ("∞" if value > 0 else "−∞")


def month(value: Any) -> str:
    """The month of a date: ``2024-05``."""
    return pd.Timestamp(value).strftime("%Y-%m")


def text(value: Any) -> str:
    """Any value as it prints."""
    return MISSING if is_missing(value) else str(value)


def utc_minute(timestamp: pd.Timestamp) -> str:
    """A report's date as every report prints it: ``2024-09-01 12:00 UTC``."""
    return timestamp.strftime("%Y-%m-%d %H:%M UTC")


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a :func:`table`: the frame's column ``name`` shown under ``header``."""

    name: str
    header: str
    format: Formatter = text
    numeric: bool = True
    """Right-aligned with tabular digits; text columns are left-aligned."""
    markup: bool = False
    """The formatter returns HTML (a badge) rather than text to escape."""
    wrap: bool = False
    """Long text (a description) that wraps inside a column of reading width."""

    @property
    def align(self) -> str:
        """The cell class: ``num`` or ``txt`` (``txt wrap`` for wrapping text)."""
        return "num" if self.numeric else ("txt wrap" if self.wrap else "txt")

    def th(self) -> str:
        """The header cell."""
        return f'<th class="{self.align}">{escape(self.header)}</th>'

    def td(self, value: Any) -> str:
        """The cell of ``value``, formatted and (unless ``markup``) escaped."""
        shown = self.format(value)
        return f'<td class="{self.align}">{shown if self.markup else escape(shown)}</td>'


def table(frame: pd.DataFrame, columns: Sequence[Column], *, scroll: bool = False,
          tall: bool = False) -> str:
    """The rows of ``frame`` in ``columns``; ``scroll`` wraps a wide table so that it scrolls
    sideways instead of widening the page, ``tall`` a long one so that it scrolls under its
    header."""
    head = "".join(column.th() for column in columns)
    body = [
        "<tr>" + "".join(column.td(row[column.name]) for column in columns) + "</tr>"
        for _, row in frame.iterrows()
    ]
    html = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return scrolling(html, tall=tall) if scroll or tall else html


def scrolling(html: str, *, tall: bool = False) -> str:
    """A wide block (HTML) that scrolls sideways; ``tall`` also caps its height (a long table
    scrolls under its header instead of running for pages)."""
    return f'<div class="scroll{" tall" if tall else ""}">{html}</div>'


def meta_table(rows: Iterable[tuple[str, str | list[str]]]) -> str:
    """The key → value table of a page header; a list value shows one line per item."""
    lines = "".join(
        f"<tr><th>{escape(key)}</th><td>"
        + ("<br>".join(escape(line) for line in value) if isinstance(value, list)
           else escape(str(value)))
        + "</td></tr>"
        for key, value in rows
    )
    return f'<table class="meta">{lines}</table>'


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def figure_png(figure: Figure, *, dpi: float = 100, tight: bool = False) -> bytes:
    """The figure as PNG bytes, the one way every report, plot file and artifact gets them;
    ``tight`` crops the white margin (``bbox_inches="tight"``)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, **({"bbox_inches": "tight"} if tight else {}))
    return buffer.getvalue()


def image(png: bytes, alt: str) -> str:
    """An ``<img>`` of PNG bytes embedded as base64: the page needs no file next to it."""
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{escape(alt)}">'


def figure(figure: Figure, alt: str, how_to_read: str, *, dpi: float = 100,
           tight: bool = False) -> str:
    """A figure with its caption, the line that says how to read it; ``tight`` crops the image
    to what is drawn (for a figure whose layout is not its own, e.g. shap's)."""
    return (
        f"<figure>{image(figure_png(figure, dpi=dpi, tight=tight), alt)}"
        f"<figcaption>{escape(how_to_read)}</figcaption></figure>"
    )


def pair(*parts: str) -> str:
    """Two blocks (HTML) side by side; stacked on a narrow screen."""
    return '<div class="pair">' + "".join(parts) + "</div>"


def single(*parts: str) -> str:
    """A block (HTML) at reading width: a lone figure is not stretched across the page."""
    return '<div class="single">' + "".join(parts) + "</div>"


def explained_table(how_to_read: str, frame: pd.DataFrame, columns: Sequence[Column],
                    figure_html: str, *, scroll: bool = False) -> str:
    """The usual body of a section: the line that says how to read it, the table, and the
    figure drawn from that table at reading width below it."""
    return how(how_to_read) + table(frame, columns, scroll=scroll) + single(figure_html)


# ---------------------------------------------------------------------------------------------
# Text blocks
# ---------------------------------------------------------------------------------------------


def how(text: str) -> str:
    """The line under a heading that says what a table or plot shows and how to read it."""
    return f'<p class="how">{escape(text)}</p>'


def note(text: str) -> str:
    """A remark in the margin of the evidence: what is left out and why."""
    return f'<p class="note">{escape(text)}</p>'


def headline(text: str) -> str:
    """A one-line verdict in larger type."""
    return f'<p class="headline">{escape(text)}</p>'


def fact_list(facts: Iterable[str], *, css: str = "facts") -> str:
    """A list of short facts (text); ``css`` is the list's class."""
    return (f'<ul class="{escape(css)}">' + "".join(f"<li>{escape(fact)}</li>" for fact in facts)
            + "</ul>")


def paragraph(text: str) -> str:
    """A paragraph of running text."""
    return f"<p>{escape(text)}</p>"


def badge(status: str) -> str:
    """A coloured status badge (``stable``/``watch``/``act``, ``pass``/``watch``/``fail``/``n/a``,
    ``ok``/``alert``): the status, letters only, is the CSS class; :data:`CSS` colours the PSI
    readings and the verdicts, :data:`CHECK_CSS` the checks."""
    css = re.sub(r"[^a-z]", "", status.lower())
    return f'<span class="badge {css}">{escape(status)}</span>'


def section(key: str, title: str, *parts: str) -> str:
    """A section of the page (parts are HTML), its ``key`` the anchor the contents link to."""
    return f'<section id="{key}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def anchor(heading: str) -> str:
    """A section key made from its heading: lower case, words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def contents(entries: Iterable[tuple[str, str]]) -> str:
    """The table of contents: (section key, title) in page order."""
    items = "".join(f'<li><a href="#{key}">{escape(title)}</a></li>' for key, title in entries)
    return f"<nav><h2>Contents</h2><ol>{items}</ol></nav>"


def page_header(title: str, subtitle: str, rows: Iterable[tuple[str, str | list[str]]]
                ) -> str:
    """The page's title, subtitle and :func:`meta_table` (who, what, when); an empty subtitle
    or no rows leave theirs out."""
    rows = list(rows)
    below = f'<p class="subtitle">{escape(subtitle)}</p>' if subtitle else ""
    return f"<header><h1>{escape(title)}</h1>{below}{meta_table(rows) if rows else ''}</header>"


def footer(text: str) -> str:
    """The last line of the page, e.g. when and for which run it was generated."""
    return f"<footer>{escape(text)}</footer>"


def document(title: str, body: str, *, css: str = "") -> str:
    """The page: ``body`` (HTML) in the shell with :data:`CSS` and any ``css`` after it."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}{css}</style>\n</head>\n<body>\n<main>\n"
        + body
        + "\n</main>\n</body>\n</html>\n"
    )


CSS = """
:root { --ink: #1f2933; --muted: #5f6b7a; --line: #d9dee5; --head: #f1f4f8; --accent: #2f5d8a; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: var(--ink);
  font: 14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; background: #fff;
  box-shadow: 0 0 0 1px var(--line); }
header h1 { margin: 0 0 2px; font-size: 24px; color: var(--accent); }
.subtitle { margin: 0 0 14px; color: var(--muted); }
h2 { margin: 36px 0 6px; padding-bottom: 4px; font-size: 19px; border-bottom: 2px solid var(--accent); }
h3 { margin: 22px 0 4px; font-size: 15px; }
nav { margin: 18px 0 0; padding: 8px 16px; background: var(--head); border-radius: 6px; }
nav h2 { margin: 4px 0; font-size: 14px; border: 0; }
nav ol { margin: 0; padding-left: 20px; columns: 2; }
nav a { color: var(--accent); text-decoration: none; }
p.how { margin: 2px 0 10px; color: var(--muted); font-size: 13px; }
p.note { color: var(--muted); font-style: italic; }
p.headline { font-size: 15px; margin: 8px 0; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 12.5px; }
th, td { padding: 4px 9px; border-bottom: 1px solid var(--line); }
thead th { background: var(--head); font-weight: 600; border-bottom: 2px solid var(--line);
  vertical-align: bottom; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.txt, th.txt { text-align: left; }
table.meta th { text-align: left; width: 250px; background: none; color: var(--muted);
  font-weight: 600; vertical-align: top; }
table.meta td { text-align: left; }
.scroll { overflow-x: auto; }
table.scorecard { min-width: 560px; }
table.scorecard th.group { text-align: left; background: #e8eef5; font-weight: 600;
  border-top: 2px solid var(--line); }
table.scorecard th.group .description { margin-left: 8px; color: var(--muted); font-weight: 400; }
table.scorecard th.group .facts { float: right; margin-left: 16px; color: var(--muted);
  font-weight: 400; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; min-width: 46px; padding: 0 6px; border-radius: 9px;
  font-size: 11px; font-weight: 600; text-align: center; }
.badge.stable { background: #dcefdc; color: #1e6b2e; }
.badge.watch { background: #fbecc8; color: #8a5a00; }
.badge.act, .badge.fail { background: #f6d0d0; color: #9b1c1c; }
.badge.pass { background: #dcefdc; color: #1e6b2e; }
.badge.na { background: #e4e7eb; color: #3e4c59; }
p.verdict { font-size: 17px; margin: 10px 0; }
p.verdict .badge { font-size: 14px; min-width: 64px; padding: 1px 10px; }
ul.limitations li { margin: 5px 0; }
.scroll.tall { max-height: 560px; overflow-y: auto; border-bottom: 1px solid var(--line); }
.scroll.tall thead th { position: sticky; top: 0; z-index: 1; }
td.wrap { white-space: normal; min-width: 160px; }
ul.facts { margin: 4px 0; padding-left: 20px; }
ul.facts li { margin: 3px 0; }
figure { margin: 8px 0 16px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { margin-top: 4px; color: var(--muted); font-size: 12.5px; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; align-items: start; }
.single figure img { max-width: 820px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media (max-width: 900px) { .pair { grid-template-columns: 1fr; } main { padding: 16px; } }
@media print { body { background: #fff; } main { box-shadow: none; } section { break-inside: avoid; } }
"""
"""The stylesheet of every page."""

CHECK_CSS = """
.badge.ok { background: #dcefdc; color: #1e6b2e; }
.badge.alert { background: #f6d0d0; color: #9b1c1c; }
"""
"""The colours of the ``ok``/``alert`` badges of a page of checks (passed to :func:`document`)."""
