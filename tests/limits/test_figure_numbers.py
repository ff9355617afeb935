"""The limit figures read as a credit committee reads numbers: counts as integers, amounts with
thousands separators (no ``1e6`` offset on an axis), in the toolkit's shared figure style."""

from __future__ import annotations

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from credit_models.explain.figure_style import BASE_FONT
from credit_models.limits.backtest_metrics import frontier_figure
from credit_models.limits.stress import stress_figure


def _drawn(figure: Figure) -> Figure:
    FigureCanvasAgg(figure).draw()
    return figure


def _tick_labels(axis) -> list[str]:
    return [label.get_text() for label in axis.get_ticklabels() if label.get_text()]


def _in_shared_style(figure: Figure) -> bool:
    texts = [figure.axes[0].title, *figure.axes[0].texts]
    return (isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine)
            and all(text.get_fontfamily()[0] == BASE_FONT for text in texts))


def test_stress_figure_labels_counts_as_integers_and_amounts_with_separators():
    table = pd.DataFrame(
        {"expected_loss": [1_591_683.2, 2_950_000.0], "capital_at_risk": [3_210_000.0, 5.1e6],
         "cuts": [1061.0, 1.0]},
        index=pd.Index(["baseline", "severe"], name="scenario"),
    )
    figure = _drawn(stress_figure(table))
    axes = figure.axes[0]
    assert [text.get_text() for text in axes.texts] == ["1,061 cuts", "1 cut"]
    ticks = _tick_labels(axes.yaxis)
    assert "5,000,000" in ticks and all("e" not in tick for tick in ticks)
    assert axes.yaxis.get_offset_text().get_text() == ""
    assert _in_shared_style(figure)


def test_frontier_axis_shows_thousands_separators():
    points = pd.DataFrame({
        "label": ["t1", "t2", "now"], "declined_order_rate": [0.01, 0.03, 0.02],
        "expected_loss": [940_000.0, 985_000.0, 1_020_000.0],
        "family": ["tiers", "tiers", "current"],
    })
    figure = _drawn(frontier_figure(points, highlight={"now": "current policy"}))
    axes = figure.axes[0]
    ticks = _tick_labels(axes.yaxis)
    assert "1,000,000" in ticks and all("," in tick for tick in ticks)
    assert axes.yaxis.get_offset_text().get_text() == ""
    assert _in_shared_style(figure)


def test_console_tables_show_counts_amounts_and_rates_readably():
    from credit_models.workflows.limits import console_table

    stress = pd.DataFrame(
        {"mean_pd": [0.03124, 0.0625], "expected_loss": [1_591_683.2, 2_000_000.0],
         "capital_at_risk": [3_210_000.4, float("nan")], "cuts": [1061.0, 3.0]},
        index=pd.Index(["baseline", "severe"], name="scenario"),
    )
    lines = console_table(stress).splitlines()
    assert lines[2].split() == ["baseline", "3.12", "%", "1,591,683", "3,210,000", "1,061"]
    assert lines[3].split() == ["severe", "6.25", "%", "2,000,000", "–", "3"]
    backtest = pd.DataFrame({"average_limit": [980_000.4], "declined_order_rate": [0.0123]},
                            index=["policy"])
    assert console_table(backtest).splitlines()[1].split() == ["policy", "980,000", "1.23", "%"]
    assert "e+" not in console_table(stress)
