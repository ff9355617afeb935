"""The limit run's HTML report and figures: backtest comparison and frontier, stress test, limits
by PD band, capacity model quality, approval and limits by sensitive group — one self-contained
page (figures embedded) a credit committee can open from the MLflow run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from credit_models.evaluation.fairness import FairnessReview
from credit_models.reporting import html as page
from credit_models.reporting.fairness_section import FAIRNESS_HEADING, fairness_section_body


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
    axis.set_title("Limits by PD band")
    axis.legend()
    figure.tight_layout()
    return figure


def _number(value: float, digits: int) -> str:
    """Amounts as whole numbers with thousands separators, rates and PDs to ``digits``."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}g}"


def _table(frame: pd.DataFrame, digits: int = 4) -> str:
    """A result table as it is (its index and columns), numbers shown by :func:`_number`."""
    return page.scrolling(frame.to_html(float_format=lambda value: _number(value, digits),
                                        border=0, classes="table"))


def limit_report(title: str, details: Mapping[str, str], sections: Sequence[tuple[str, str]],
                 ) -> str:
    """A page of ``sections`` (heading, HTML body) under a details table."""
    header = page.page_header(title, "", details.items())
    body = "\n".join(page.section(page.anchor(heading), heading, content)
                     for heading, content in sections)
    return page.document(title, header + "\n" + body)


def table_section(frame: pd.DataFrame, note: str = "", digits: int = 4) -> str:
    """A table with the line that says how to read it."""
    return (page.how(note) if note else "") + _table(frame, digits)


def image_section(png: bytes, alt: str, note: str = "") -> str:
    """A figure (PNG bytes, :func:`~credit_models.reporting.html.figure_png`) with the line that
    says how to read it."""
    return (page.how(note) if note else "") + page.image(png, alt)


def fairness_section(review: FairnessReview, population: str) -> tuple[str, str]:
    """The (heading, body) of the fairness section: approval and recommended limit by age band
    and each other sensitive group, drawn exactly as the validation report draws it.
    ``population``: the customers reviewed, e.g. ``"The policy's 4,000 customers at 2024-01-01"``."""
    return FAIRNESS_HEADING, fairness_section_body(review, population)
