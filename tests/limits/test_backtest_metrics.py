"""Backtest metrics on a hand-built replay with known exposure, loss and declined demand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from credit_models.errors import ConfigError, TrainingDataError
from credit_models.limits.backtest_metrics import (
    backtest_metrics,
    frontier_figure,
    policy_comparison,
)
from credit_models.limits.replay import Replay, replay, static_schedule

START = pd.Timestamp("2025-01-01", tz="UTC")
JAN, FEB, MAR = (START, START + pd.Timedelta(days=31)), (
    START + pd.Timedelta(days=31), START + pd.Timedelta(days=59)), (
    START + pd.Timedelta(days=59), START + pd.Timedelta(days=90))


def hand_built() -> tuple[Replay, pd.DataFrame]:
    limits = pd.Series({1: 100.0, 2: 0.0, 3: 300.0})
    demand = pd.DataFrame({
        "customer_id": [1, 1, 2, 3],
        "at": [START + pd.Timedelta(days=d) for d in (1, 40, 2, 45)],
        "amount": [80.0, 50.0, 20.0, 100.0],
        "source": "order",
    }).astype({"at": "datetime64[us, UTC]"})
    repayments = pd.DataFrame({"customer_id": [3], "at": [START + pd.Timedelta(days=50)],
                               "amount": [60.0]}).astype({"at": "datetime64[us, UTC]"})
    opening = pd.Series({1: 10.0, 3: 100.0})
    result = replay(demand, repayments, static_schedule(limits, START), opening)
    portfolio = pd.DataFrame({
        "limit": limits,
        "balance": opening.reindex(limits.index, fill_value=0.0),
        "pd": [0.1, 0.5, 0.02],
        "lgd": [0.5, 0.5, 0.4],
        "is_bad": [True, np.nan, False],
    }).rename_axis("customer_id")
    return result, portfolio


def test_metrics_on_a_hand_built_replay() -> None:
    result, portfolio = hand_built()
    # customer 1: 10 + 80 = 90, then 50 declined; 2: no line, declined; 3: 100 + 100, repay 60.
    assert result.orders["accepted"].tolist() == [True, False, False, True]
    metrics = backtest_metrics(result, portfolio, {"jan": JAN, "feb": FEB, "mar": MAR}, ccf=0.5)
    ead = [10 + 0.5 * 90, 0.0, 100 + 0.5 * 200]
    expected_loss = 0.1 * 0.5 * ead[0] + 0.02 * 0.4 * ead[2]
    assert list(metrics)[:12] == [
        "customers", "approval_rate", "average_limit", "total_limit", "ead", "expected_loss",
        "expected_loss_rate", "realised_loss", "utilisation", "orders", "declined_order_rate",
        "declined_amount_rate",
    ]
    assert metrics["customers"] == 3
    assert metrics["approval_rate"] == pytest.approx(2 / 3)
    assert metrics["average_limit"] == pytest.approx(200.0)
    assert metrics["total_limit"] == pytest.approx(400.0)
    assert metrics["ead"] == pytest.approx(sum(ead))
    assert metrics["expected_loss"] == pytest.approx(expected_loss)
    assert metrics["expected_loss_rate"] == pytest.approx(expected_loss / sum(ead))
    assert metrics["realised_loss"] == pytest.approx(0.5 * 90.0)   # only customer 1 is bad
    # utilisation: customer 1 (0.9, 0.9), customer 3 (200/300, 140/300); customer 2 has none.
    assert metrics["utilisation"] == pytest.approx((0.9 + (200 + 140) / 600) / 2)
    assert metrics["orders"] == 4
    assert metrics["declined_order_rate"] == pytest.approx(0.5)
    assert metrics["declined_amount_rate"] == pytest.approx(70 / 250)
    assert metrics["orders/jan"] == 2 and metrics["declined_order_rate/jan"] == pytest.approx(0.5)
    assert metrics["orders/feb"] == 2 and metrics["declined_order_rate/feb"] == pytest.approx(0.5)
    assert metrics["orders/mar"] == 0 and np.isnan(metrics["declined_order_rate/mar"])


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda p: p.drop(columns=["lgd"]), TrainingDataError, r"portfolio lacks .*'lgd'"),
        (lambda p: p.assign(limit=[100.0, -5.0, 300.0]), TrainingDataError,
         r"portfolio.limit\] limit must be a number >= 0: 1 row"),
        (lambda p: p.assign(pd=[0.1, 1.5, 0.2]), TrainingDataError, r"portfolio.pd\]"),
    ],
)
def test_invalid_portfolio_is_named(change, error, message) -> None:
    result, portfolio = hand_built()
    with pytest.raises(error, match=message) as raised:
        backtest_metrics(result, change(portfolio), {}, ccf=0.5)
    if "limit" in message:
        assert "-5.0" in str(raised.value)   # the offending row is shown


@pytest.mark.parametrize("ccf", [-0.1, 1.5, float("nan")])
def test_ccf_outside_unit_interval_is_rejected(ccf: float) -> None:
    result, portfolio = hand_built()
    with pytest.raises(ConfigError, match="ccf"):
        backtest_metrics(result, portfolio, {}, ccf=ccf)


def test_policy_comparison_keeps_policy_and_metric_order() -> None:
    table = policy_comparison({
        "tiers": {"ead": 2.0, "orders": 10.0},
        "current": {"ead": 1.0, "orders": 12.0, "orders/q1": 3.0},
    })
    assert table.index.tolist() == ["tiers", "current"]
    assert table.index.name == "policy"
    assert table.columns.tolist() == ["ead", "orders", "orders/q1"]
    assert np.isnan(table.loc["tiers", "orders/q1"])


def test_frontier_figure_draws_one_line_per_family_and_annotates_highlights() -> None:
    points = pd.DataFrame({
        "label": ["t1", "t2", "t3", "opt", "now"],
        "declined_order_rate": [0.05, 0.01, 0.03, 0.02, 0.04],
        "expected_loss": [100.0, 300.0, 200.0, 180.0, 260.0],
        "family": ["tiers", "tiers", "tiers", "optimum", "current"],
    })
    figure = frontier_figure(points, highlight={"now": "current policy"})
    assert isinstance(figure, Figure)
    axes = figure.axes[0]
    assert len(axes.lines) == 3
    tiers = axes.lines[0]
    assert list(tiers.get_xdata()) == pytest.approx([1.0, 3.0, 5.0])   # sorted, in percent
    assert [text.get_text() for text in axes.texts] == ["current policy"]
    assert axes.get_xlabel() and axes.get_ylabel() and axes.get_title()
    with pytest.raises(ConfigError, match="missing"):
        frontier_figure(points, highlight={"missing": "x"})
