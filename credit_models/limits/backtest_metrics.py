"""What a limit policy would have cost and earned, from its replay: exposure (EAD), expected and
realised loss, and how much demand it would have turned away — the two sides of the trade-off a
credit team sets a limit policy on. :func:`frontier_figure` draws that trade-off across policy
settings.

Figures are built on :class:`matplotlib.figure.Figure` directly (drawn by Agg when saved), not
through pyplot, so drawing many of them accumulates no global figure state.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter, StrMethodFormatter

from credit_models.errors import ConfigError, ContractViolation, TrainingDataError
from credit_models.explain.figure_style import styled, use_file_backend
from credit_models.limits.replay import Replay
from credit_models.timestamps import utc_timestamp

use_file_backend()

PORTFOLIO_COLUMNS = ("limit", "balance", "pd", "lgd", "is_bad")
METRICS = (
    "customers", "approval_rate", "average_limit", "total_limit", "ead", "expected_loss",
    "expected_loss_rate", "realised_loss", "utilisation", "orders", "declined_order_rate",
    "declined_amount_rate",
)
FAMILY_COLOURS = {"tiers": "#4c72b0", "optimum": "#55a868", "current": "#c44e52"}
_OTHER_COLOURS = ("#dd8452", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974")


def _violation(table: str, column: str, rule: str, mask: pd.Series, frame: pd.DataFrame) -> str:
    examples = frame.loc[mask.to_numpy()].reset_index()
    return ContractViolation(table, column, rule, int(mask.sum()), examples).describe()


def _check_portfolio(portfolio: pd.DataFrame) -> None:
    missing = [column for column in PORTFOLIO_COLUMNS if column not in portfolio.columns]
    if missing:
        raise TrainingDataError(
            f"portfolio lacks column(s) {missing}; it has {list(portfolio.columns)}"
        )
    problems = []
    for column, low, high in (("limit", 0.0, np.inf), ("balance", 0.0, np.inf),
                              ("pd", 0.0, 1.0), ("lgd", 0.0, 1.0)):
        values = pd.to_numeric(portfolio[column], errors="coerce")
        bad = ~((values >= low) & (values <= high))
        if bad.any():
            rule = f"{column} must be a number >= 0" if np.isinf(high) else (
                f"{column} must be a number in [0, 1]")
            problems.append(_violation("portfolio", column, rule, bad, portfolio))
    if problems:
        raise TrainingDataError("\n".join(problems))


def _is_bad(values: pd.Series) -> np.ndarray:
    """True only where the outcome is known to be bad; NaN (unknown) counts as not bad."""
    numeric = pd.to_numeric(values.astype("object"), errors="coerce")
    return (numeric.fillna(0.0) == 1.0).to_numpy()


def _rate(part: float, whole: float) -> float:
    return float(part / whole) if whole else float("nan")


def backtest_metrics(
    replay: Replay,
    portfolio: pd.DataFrame,
    windows: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]],
    ccf: float,
) -> dict[str, float]:
    """Exposure, loss and declined-demand metrics of one policy.

    `portfolio` (index customer_id) holds the policy's permanent ``limit`` at the start, the
    opening ``balance``, ``pd``, ``lgd`` and the realised ``is_bad`` (NaN when unknown). EAD per
    customer is balance + ccf × undrawn limit; realised loss is lgd × the replay's peak balance
    over customers that went bad (the peak, since the default date is not modelled). Demand
    metrics count the replay's demand events, overall and per named window [start, end).
    """
    if not 0.0 <= ccf <= 1.0:
        raise ConfigError(f"ccf must be in [0, 1]; got {ccf}")
    _check_portfolio(portfolio)
    limit = portfolio["limit"].to_numpy(np.float64)
    balance = portfolio["balance"].to_numpy(np.float64)
    pd_ = portfolio["pd"].to_numpy(np.float64)
    lgd = portfolio["lgd"].to_numpy(np.float64)
    ead_i = balance + ccf * np.maximum(limit - balance, 0.0)
    approved = limit > 0
    ead = float(ead_i.sum())
    expected_loss = float((pd_ * lgd * ead_i).sum())
    peak = replay.customers["peak_balance"].reindex(portfolio.index)
    peak = peak.fillna(portfolio["balance"]).to_numpy(np.float64)
    bad = _is_bad(portfolio["is_bad"])
    utilisation = replay.customers["mean_utilisation"].to_numpy(np.float64)

    orders = replay.orders
    declined = ~orders["accepted"].to_numpy(bool)
    amount = orders["amount"].to_numpy(np.float64)
    metrics: dict[str, float] = {
        "customers": float(len(portfolio)),
        "approval_rate": float(approved.mean()) if len(portfolio) else float("nan"),
        "average_limit": float(limit[approved].mean()) if approved.any() else float("nan"),
        "total_limit": float(limit.sum()),
        "ead": ead,
        "expected_loss": expected_loss,
        "expected_loss_rate": _rate(expected_loss, ead),
        "realised_loss": float((lgd * peak)[bad].sum()),
        "utilisation": (
            float(np.nanmean(utilisation)) if np.isfinite(utilisation).any() else float("nan")
        ),
        "orders": float(len(orders)),
        "declined_order_rate": _rate(declined.sum(), len(orders)),
        "declined_amount_rate": _rate(amount[declined].sum(), amount.sum()),
    }
    if windows:
        at = pd.to_datetime(orders["at"], utc=True)
    for name, (start, end) in windows.items():
        start, end = utc_timestamp(start), utc_timestamp(end)
        if not start < end:
            raise ConfigError(f"window {name!r} must have start < end; got [{start}, {end})")
        inside = ((at >= start) & (at < end)).to_numpy()
        metrics[f"declined_order_rate/{name}"] = _rate(declined[inside].sum(), inside.sum())
        metrics[f"orders/{name}"] = float(inside.sum())
    return metrics


def policy_comparison(results: Mapping[str, dict[str, float]]) -> pd.DataFrame:
    """One row per policy (in the given order), one column per metric (in first-seen order), so
    policies read side by side; a metric a policy lacks is NaN."""
    columns: list[str] = []
    for metrics in results.values():
        columns.extend(name for name in metrics if name not in columns)
    table = pd.DataFrame.from_dict(dict(results), orient="index").reindex(columns=columns)
    table.index.name = "policy"
    return table.reindex(list(results))


@styled
def frontier_figure(
    points: pd.DataFrame, highlight: Mapping[str, str] | None = None
) -> Figure:
    """Expected loss against declined-order rate for policy settings: one line per family,
    sorted along the x axis, so the cost of turning demand away reads off the curve.
    `highlight` maps a point's label to the text annotated next to it."""
    required = ("label", "declined_order_rate", "expected_loss", "family")
    missing = [column for column in required if column not in points.columns]
    if missing:
        raise ConfigError(f"frontier points lack column(s) {missing}; have {list(points.columns)}")
    highlight = dict(highlight or {})
    unknown = sorted(set(highlight) - set(points["label"]))
    if unknown:
        raise ConfigError(f"highlight names label(s) not among the points: {unknown[:5]}")

    figure = Figure(figsize=(7, 5))
    axes = figure.subplots()
    others = iter(_OTHER_COLOURS * 10)
    for family, group in points.groupby("family", sort=False):
        group = group.sort_values("declined_order_rate", kind="stable")
        colour = FAMILY_COLOURS.get(str(family)) or next(others)
        axes.plot(
            group["declined_order_rate"] * 100, group["expected_loss"],
            marker="o", markersize=4, linewidth=1.2, color=colour, label=str(family),
        )
    rates = points["declined_order_rate"] * 100
    middle = (rates.min() + rates.max()) / 2
    for label, text in highlight.items():
        row = points.loc[points["label"] == label].iloc[0]
        x, y = row["declined_order_rate"] * 100, row["expected_loss"]
        axes.scatter([x], [y], s=70, facecolors="none", edgecolors="black", zorder=3)
        # Text towards the middle: a label past the right edge would squeeze the axes.
        right = x <= middle
        axes.annotate(text, (x, y), xytext=(6 if right else -6, 6), textcoords="offset points",
                      ha="left" if right else "right", fontsize=8)
    axes.xaxis.set_major_formatter(PercentFormatter(decimals=None))   # as many as the ticks need
    axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axes.set_xlabel("Declined orders (share of demand events)")
    axes.set_ylabel("Expected loss")
    axes.set_title("Limit policy frontier: expected loss against declined demand")
    axes.legend(title="policy family")
    return figure
