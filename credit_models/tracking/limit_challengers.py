"""Registered credit-limit models as closed-loop challengers: each model decides the snapshot's
customers (its permanent limit and its campaign limits with their dates), and that decision is
the limit schedule the simulator runs the window under (see
:mod:`credit_models.workflows.closed_loop`).

A model is loaded from the store only (``models:/credit_limit/3``, ``credit_limit@champion``…)
and fed the snapshot's feature rows through its signature, so a model whose inputs the data set
does not have is refused by name before anything is simulated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from credit_models.errors import ConfigError
from credit_models.limits.replay import static_schedule
from credit_models.tracking.limit_pyfunc import AS_OF
from credit_models.tracking.model_loading import load_pd_model
from credit_models.workflows.closed_loop import ChallengerSchedules
from credit_models.workflows.scoring import predict_frame

CAMPAIGN_EXTRA = re.compile(r"^promotion_(?P<window>.+)_extra$")


def registered_limit_challengers(uris: Sequence[str]) -> ChallengerSchedules:
    """The closed loop's callback for these model URIs (loaded when it is called)."""

    def schedules(features: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
        decided = {}
        for uri in uris:
            model = load_pd_model(uri)
            label = model.resolved.label
            inputs = features.assign(**{AS_OF: as_of.isoformat()})
            try:
                scored = predict_frame(model, inputs)
            except ValueError as error:
                raise ConfigError(f"closed-loop challenger {label}: {error}") from None
            decided[label] = decision_schedule(scored.set_axis(features.index), as_of, label)
        return decided

    return schedules


def decision_schedule(scored: pd.DataFrame, as_of: pd.Timestamp, label: str) -> pd.DataFrame:
    """A served credit decision (``new_limit`` and each campaign's ``promotion_<window>_extra``,
    ``_starts_at`` and ``_expires_at``; index customer_id) as a limit schedule from ``as_of``."""
    if "new_limit" not in scored.columns:
        raise ConfigError(f"closed-loop challenger {label} returns no new_limit: only a "
                          "credit_limit model decides limits")
    campaigns = []
    for column in scored.columns:
        match = CAMPAIGN_EXTRA.match(column)
        if match is None:
            continue
        window = match["window"]
        extra = scored[column].astype(float)
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
