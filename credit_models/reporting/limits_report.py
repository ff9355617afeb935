"""The limit run's HTML report and figures: backtest comparison and frontier, stress test, limits
by PD band, capacity model quality, approval and limits by sensitive group — one self-contained page (figures embedded) a credit
committee can open from the MLflow run."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from credit_models.evaluation.fairness import FairnessReview
from credit_models.reporting.fairness_section import fairness_section_body
from credit_models.reporting.html import CSS as _CSS


def figure_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


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
    return frame.to_html(float_format=lambda value: _number(value, digits), border=0,
                         classes="table")


def _image(png: bytes, alt: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def limit_report(title: str, details: Mapping[str, str], sections: Sequence[tuple[str, str]],
                 ) -> str:
    """A page of ``sections`` (heading, HTML body) under a details table."""
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                   for k, v in details.items())
    body = "".join(f"<h2>{html.escape(heading)}</h2>{content}" for heading, content in sections)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_CSS}</style></head><body><main><h1>{html.escape(title)}</h1>"
            f"<table class='table'>{rows}</table>{body}</main></body></html>")


def table_section(frame: pd.DataFrame, note: str = "", digits: int = 4) -> str:
    return (f"<p>{html.escape(note)}</p>" if note else "") + _table(frame, digits)


def image_section(png: bytes, alt: str, note: str = "") -> str:
    return (f"<p>{html.escape(note)}</p>" if note else "") + _image(png, alt)


FAIRNESS_HEADING = "Fairness: sensitive attributes"


def fairness_section(review: FairnessReview, population: str) -> tuple[str, str]:
    """The (heading, body) of the fairness section: approval and recommended limit by age band
    and each other sensitive group, drawn exactly as the validation report draws it.
    ``population``: the customers reviewed, e.g. ``"The policy's 4,000 customers at 2024-01-01"``."""
    return FAIRNESS_HEADING, fairness_section_body(review, population)
