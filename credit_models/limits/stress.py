"""Stress tests: the portfolio under macro scenarios (PD multiplier, spend shock, LGD rise) — the
loss and capital at the limits granted today, and the cuts the policy's own review would trigger.

Capital at risk is the Basel IRB unexpected loss for qualifying revolving retail exposures
(asset correlation 0.04): a regulator's yardstick a credit committee already reads, applied to a
one-year PD stretched from the label window at constant hazard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import norm

from credit_models.errors import ConfigError
from credit_models.limits.capacity_metrics import quantile_column
from credit_models.limits.decisions import decide_limits
from credit_models.limits.policy import LimitPolicy
from credit_models.limits.target_limits import (
    demand_distribution,
    exposure_at_default,
    stretched_pd,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass
class Scenario:
    """One macro scenario: PD multiplied, spend multiplied, LGD raised. (Not frozen: OmegaConf
    would make each new entry of ``StressSettings.scenarios`` read-only before filling it.)"""

    pd_multiplier: float = 1.0
    spend_multiplier: float = 1.0
    lgd_add: float = 0.0


@dataclass(frozen=True)
class StressSettings:
    """``conf/stress/*.yaml``: the scenarios (name → :class:`Scenario`) and the IRB capital
    formula's asset correlation and confidence. Checked when built."""

    asset_correlation: float = 0.04
    confidence: float = 0.999
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    """At least one, for a stress test (:meth:`require_scenarios`)."""

    def __post_init__(self) -> None:
        for name, scenario in self.scenarios.items():
            if scenario.pd_multiplier <= 0 or scenario.spend_multiplier <= 0:
                raise ConfigError(f"stress.scenarios.{name}: pd_multiplier and spend_multiplier "
                                  f"must be > 0; got {scenario.pd_multiplier:g}, "
                                  f"{scenario.spend_multiplier:g}")
            if not -1.0 < scenario.lgd_add < 1.0:
                raise ConfigError(f"stress.scenarios.{name}.lgd_add must be in (-1, 1); got "
                                  f"{scenario.lgd_add:g}")
        if not 0 < self.asset_correlation < 1 or not 0.5 < self.confidence < 1:
            raise ConfigError("stress.asset_correlation must be in (0, 1) and stress.confidence "
                              f"in (0.5, 1); got {self.asset_correlation:g}, "
                              f"{self.confidence:g}")

    def require_scenarios(self) -> None:
        """A stress test needs a scenario (the schema's default has none, the YAML gives them)."""
        if not self.scenarios:
            raise ConfigError("stress.scenarios needs at least one scenario")


def capital_requirement(one_year_pd: np.ndarray, lgd: np.ndarray, correlation: float,
                        confidence: float) -> np.ndarray:
    """IRB capital per unit of EAD: LGD × (conditional PD at the confidence level − PD)."""
    pd_clipped = np.clip(one_year_pd, 1e-6, 1 - 1e-9)
    conditional = norm.cdf((norm.ppf(pd_clipped) + np.sqrt(correlation) * norm.ppf(confidence))
                           / np.sqrt(1 - correlation))
    return lgd * np.maximum(conditional - pd_clipped, 0.0)


def stress_test(portfolio: pd.DataFrame, granted_limit: pd.Series, policy: LimitPolicy,
                settings: StressSettings, levels: Sequence[float], as_of: pd.Timestamp,
                pd_horizon_months: int) -> pd.DataFrame:
    """One row per scenario: mean PD, EAD, expected loss and capital at risk at the granted
    limits, then the policy's review of the stressed portfolio — cuts, the limit they remove, and
    the expected loss after them."""
    quantiles = [quantile_column(level) for level in levels]
    rows = []
    settings.require_scenarios()
    for name, scenario in settings.scenarios.items():
        stressed = portfolio.copy()
        stressed["pd"] = np.minimum(portfolio["pd"] * scenario.pd_multiplier, 1.0)
        stressed[quantiles] = portfolio[quantiles] * scenario.spend_multiplier
        lgd = float(np.clip(policy.lgd + scenario.lgd_add, 0.0, 1.0))
        held = _exposure(stressed, granted_limit, policy, levels, pd_horizon_months, lgd,
                         settings)
        reviewed = decide_limits(stressed.assign(current_limit=granted_limit), policy, levels,
                                 as_of, pd_horizon_months).customers
        cut = reviewed["action"] == "cut"
        after = _exposure(stressed, reviewed["new_limit"], policy, levels, pd_horizon_months, lgd,
                          settings)
        rows.append({
            "scenario": name, "pd_multiplier": scenario.pd_multiplier,
            "spend_multiplier": scenario.spend_multiplier, "lgd": lgd,
            "mean_pd": float(stressed["pd"].mean()), **held,
            "cuts": int(cut.sum()), "cut_share": float(cut.mean()),
            "limit_cut": float((granted_limit - reviewed["new_limit"])[cut].sum()),
            "expected_loss_after_review": after["expected_loss"],
            "capital_at_risk_after_review": after["capital_at_risk"],
        })
    return pd.DataFrame(rows).set_index("scenario")


def _exposure(portfolio: pd.DataFrame, limits: pd.Series, policy: LimitPolicy,
              levels: Sequence[float], pd_horizon_months: int, lgd: float,
              settings: StressSettings) -> dict[str, float]:
    limit = limits.reindex(portfolio.index).to_numpy(dtype=float)
    used = demand_distribution(portfolio, tuple(levels)).expected_use(
        limit, portfolio["balance"].to_numpy(dtype=float))
    ead = exposure_at_default(used, limit, policy.ccf)
    one_year_pd = stretched_pd(portfolio["pd"].to_numpy(dtype=float), pd_horizon_months, 12)
    capital = capital_requirement(one_year_pd, np.full(len(ead), lgd),
                                  settings.asset_correlation, settings.confidence)
    return {"ead": float(ead.sum()), "expected_loss": float((one_year_pd * lgd * ead).sum()),
            "capital_at_risk": float((capital * ead).sum())}


def stress_figure(table: pd.DataFrame) -> Figure:
    """Expected loss and capital at risk per scenario (bars), cuts triggered (labels), in the
    toolkit's figure style."""
    # matplotlib and the style are loaded for the figure, not with the settings.
    from credit_models.explain.figure_style import styled

    return styled(_stress_figure)(table)


def _stress_figure(table: pd.DataFrame) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.ticker import StrMethodFormatter

    figure = Figure(figsize=(8, 4.5))
    axis = figure.subplots()
    positions = np.arange(len(table))
    axis.bar(positions - 0.2, table["expected_loss"], width=0.4, label="expected loss (1 year)")
    axis.bar(positions + 0.2, table["capital_at_risk"], width=0.4, label="capital at risk")
    for position, (_, row) in zip(positions, table.iterrows(), strict=True):
        cuts = int(row["cuts"])
        axis.annotate(f"{cuts:,} cut{'' if cuts == 1 else 's'}",
                      (position, max(row["expected_loss"], row["capital_at_risk"])),
                      xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                      fontsize=8)
    axis.margins(y=0.12)             # room above the tallest bar for its label
    axis.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axis.set_xticks(positions, table.index, rotation=15)
    axis.set_ylabel("amount at the granted limits")
    axis.set_title("Stress test: loss and capital by scenario, and limit cuts the review triggers")
    axis.legend()
    return figure
