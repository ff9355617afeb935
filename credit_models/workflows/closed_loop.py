"""The limits backtest checked in closed loop: on a simulated portfolio, the backtest window is
simulated again under each headline policy's limit schedule, and the replay's estimates are set
beside what the simulation shows happened (the replay's bias).

Only a data set the simulator wrote can be re-simulated: its manifest records the simulator's
settings, and the simulator's own policy must reproduce the history's demand in the window
exactly, or the closed loop is skipped with a warning (a data set written by another version of
the simulator, or edited since).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

import pandas as pd

from credit_models.data.io import DatasetManifest
from credit_models.data.simulator.closed_loop import (
    ALL,
    SIMULATOR_POLICY,
    ClosedLoopWindow,
    closed_loop_outcomes,
)
from credit_models.data.simulator.config import SimulatorConfig
from credit_models.data.simulator.generate import SOURCE as SIMULATOR_SOURCE
from credit_models.errors import ConfigError
from credit_models.limits.replay import static_schedule
from credit_models.workflows.limit_backtest import CURRENT, CURRENT_HELD, POLICY, BacktestResult
from credit_models.workflows.scoring import ScoringModel, predict_frame

logger = logging.getLogger("credit_models.limits")

REPLAYED_AS = {SIMULATOR_POLICY: CURRENT, CURRENT_HELD: CURRENT_HELD, POLICY: POLICY}
"""Closed-loop policy → the backtest row replaying the same limits."""
CLOSED_LOOP_SHOWN = ("declined_order_rate", "realised_loss", "revenue", "spend", "end_balance",
                     "defaults", "never_raised")
"""Columns of the closed-loop table shown on the console and logged as metrics (with the
campaigns' declined-order rates)."""
BIAS_METRICS = ("declined_order_rate", "realised_loss")


@dataclass(frozen=True)
class ClosedLoopResult:
    comparison: pd.DataFrame
    """One row per policy (``simulator``: the simulator's own lender, ``current_held``,
    ``policy``, then any challenger), the outcomes of :func:`closed_loop_outcomes`."""
    bias: pd.DataFrame
    """Per policy and metric: the replay's estimate, the closed-loop value and replay − closed
    loop."""
    campaigns: tuple[str, ...]
    by_segment: pd.DataFrame
    """The outcomes of thin-file and thick-file customers apart (index policy, segment)."""

    def bias_shown(self) -> pd.DataFrame:
        """The bias table as text, as the console and the report show it: rates in percent
        (the bias in points), amounts with thousands separators."""
        return pd.DataFrame.from_dict({
            key: {column: _cell(key[1], column, value) for column, value in row.items()}
            for key, row in self.bias.iterrows()
        }, orient="index").rename_axis(self.bias.index.names)

    @property
    def shown(self) -> list[str]:
        return with_campaign_rates(CLOSED_LOOP_SHOWN, self.campaigns)


def with_campaign_rates(names: tuple[str, ...], campaigns: tuple[str, ...]) -> list[str]:
    """``names`` (the overall declined-order rate first) with each campaign's rate after it."""
    return [names[0], *(f"{names[0]}/{name}" for name in campaigns), *names[1:]]


def _cell(metric: str, column: str, value: float) -> str:
    signed = "+" if column == "bias" else ""
    if metric.startswith("declined_order_rate"):
        return f"{100 * value:{signed}.2f} {'pp' if signed else '%'}"
    return f"{value:{signed},.0f}"


def simulator_config(manifest: DatasetManifest) -> SimulatorConfig | None:
    """The settings a simulated data set was written with; None for any other data set."""
    recorded = manifest.details.get("config") if manifest.source == SIMULATOR_SOURCE else None
    if not isinstance(recorded, dict):
        return None
    known = {field.name for field in fields(SimulatorConfig)}
    return SimulatorConfig(**{key: value for key, value in recorded.items() if key in known})


CAMPAIGN_EXTRA = re.compile(r"^promotion_(?P<window>.+)_extra$")
AS_OF = "as_of"
"""The served credit-limit model's optional input: the date its campaign windows count from."""


def challenger_schedules(models: Mapping[str, ScoringModel], features: pd.DataFrame,
                         as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """Label → the limit schedule of each served credit-limit model (e.g. a registered
    ``credit_limit`` version) deciding the snapshot's customers: ``features`` (index
    customer_id) fed through its signature, its permanent limit and campaign limits held from
    ``as_of``. A model whose inputs the features lack is refused by name."""
    schedules = {}
    for label, model in models.items():
        try:
            scored = predict_frame(model, features.assign(**{AS_OF: as_of.isoformat()}))
        except ValueError as error:
            raise ConfigError(f"closed-loop challenger {label}: {error}") from None
        schedules[label] = decision_schedule(scored.set_axis(features.index), as_of, label)
    return schedules


def decision_schedule(scored: pd.DataFrame, as_of: pd.Timestamp, label: str) -> pd.DataFrame:
    """A served credit decision (``new_limit`` and each campaign's ``promotion_<window>_extra``,
    ``_starts_at`` and ``_expires_at``; index customer_id) as a limit schedule from ``as_of``."""
    if "new_limit" not in scored.columns:
        raise ConfigError(f"closed-loop challenger {label} returns no new_limit: only a "
                          "credit-limit model decides limits")
    campaigns = []
    for column in scored.columns:
        match = CAMPAIGN_EXTRA.match(column)
        if match is None:
            continue
        window, extra = match["window"], scored[column].astype(float)
        granted = extra > 0
        campaigns.append(pd.DataFrame({
            "customer_id": scored.index[granted],
            "starts_at": pd.to_datetime(scored.loc[granted, f"promotion_{window}_starts_at"],
                                        utc=True).to_numpy(),
            "ends_at": pd.to_datetime(scored.loc[granted, f"promotion_{window}_expires_at"],
                                      utc=True).to_numpy(),
            "extra": extra[granted].to_numpy(),
        }))
    promotions = pd.concat(campaigns, ignore_index=True) if campaigns else None
    return static_schedule(scored["new_limit"].astype(float), as_of, promotions)


def closed_loop_check(manifest: DatasetManifest, backtest: BacktestResult,
                      customers: pd.Index,
                      challengers: Mapping[str, pd.DataFrame] | None = None,
                      ) -> ClosedLoopResult | None:
    """The headline policies, and ``challengers`` (label → limit schedule), simulated over the
    backtest window; None when the data set cannot be re-simulated (logged)."""
    config = simulator_config(manifest)
    if config is None:
        logger.info("closed loop skipped: only a data set the simulator wrote can be simulated "
                    "again (this one's source is %r)", manifest.source)
        return None
    window = ClosedLoopWindow(backtest.start, backtest.end, backtest.campaigns)
    schedules = {label: (None if replayed == CURRENT else backtest.schedules[replayed])
                 for label, replayed in REPLAYED_AS.items()}
    for label, schedule in (challengers or {}).items():
        if label in schedules:
            raise ConfigError(f"closed-loop policy {label!r} is already compared; name it "
                              "otherwise")
        schedules[label] = schedule
    outcomes = closed_loop_outcomes(config, schedules, window, customers)
    comparison = outcomes.xs(ALL, level="segment")
    simulated = comparison.loc[SIMULATOR_POLICY, "orders"]
    observed = backtest.comparison.loc[CURRENT, "orders"]
    if simulated != observed:
        logger.warning(
            "closed loop skipped: the simulator's own policy gives %s orders in %s → %s where the "
            "data set holds %s; it was written by another version of the simulator or edited "
            "since. Generate it again (credit-models-data) to compare policies in closed loop.",
            f"{simulated:,.0f}", backtest.start.date(), backtest.end.date(), f"{observed:,.0f}")
        return None
    campaigns = tuple(backtest.campaigns)
    metrics = with_campaign_rates(BIAS_METRICS, campaigns)
    rows = []
    for label, replayed in REPLAYED_AS.items():
        for metric in metrics:
            estimate = float(backtest.comparison.loc[replayed, metric])
            truth = float(comparison.loc[label, metric])
            rows.append({"policy": label, "metric": metric, "replay": estimate,
                         "closed_loop": truth, "bias": estimate - truth})
    return ClosedLoopResult(comparison, pd.DataFrame(rows).set_index(["policy", "metric"]),
                            campaigns, outcomes.drop(index=ALL, level="segment"))


def closed_loop_metrics(result: ClosedLoopResult | None) -> dict[str, float]:
    """``closed_loop/<policy>/<outcome>`` and ``replay_bias/<policy>/<metric>``."""
    if result is None:
        return {}
    metrics = {f"closed_loop/{label}/{name}": float(result.comparison.loc[label, name])
               for label in result.comparison.index for name in result.shown}
    metrics.update({f"replay_bias/{label}/{metric}": float(bias)
                    for (label, metric), bias in result.bias["bias"].items()})
    return metrics
