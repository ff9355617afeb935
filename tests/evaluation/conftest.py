"""A synthetic scored sample: 18 monthly snapshots (12 dev, 3 valid, 3 OOT) of a portfolio whose
true PD is known, a model PD that drifts a little out of time, and a feature matrix with the
columns the standard segments read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_models.features.spec import TENURE
from credit_models.reporting.segments_section import THIN_FILE_FEATURE


def synthetic_scored_sample(
    rows_per_month: int = 400, seed: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """(scored, features, importance): ``scored`` has is_bad, probability, split, as_of."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2023-01-01", periods=18, freq="MS", tz="UTC")
    as_of = np.repeat(months, rows_per_month)
    rows = len(as_of)
    month_index = np.repeat(np.arange(18), rows_per_month)
    split = np.where(month_index < 12, "dev", np.where(month_index < 15, "valid", "oot"))
    tenure = rng.gamma(2.0, 250.0, rows)
    orders = rng.poisson(np.where(rng.random(rows) < 0.25, 1.5, 12.0))
    utilisation = np.clip(rng.beta(2, 3, rows) + 0.02 * (month_index >= 15), 0, 1.2)
    channel = pd.Categorical(
        rng.choice(["app", "web", "partner"], rows, p=[0.6, 0.3, 0.1]),
        categories=["app", "web", "partner"],
    )
    missed = rng.poisson(0.3 + 0.6 * utilisation)
    log_odds = (
        -3.2 + 2.2 * utilisation + 0.7 * missed - 0.0009 * tenure - 0.04 * orders
        + 0.3 * (channel == "partner")
    )
    true_pd = 1 / (1 + np.exp(-log_odds))
    is_bad = rng.random(rows) < true_pd
    model_log_odds = log_odds + rng.normal(0, 0.35, rows) + 0.15 * (split == "oot")
    probability = 1 / (1 + np.exp(-model_log_odds))
    scored = pd.DataFrame({
        "is_bad": is_bad, "probability": probability,
        "split": pd.Series(split, dtype="str"), "as_of": as_of,
    })
    features = pd.DataFrame({
        TENURE: tenure, THIN_FILE_FEATURE: orders.astype(float),
        "statements__utilisation__mean__90d": utilisation,
        "due_outcomes__is_missed__sum__365d": missed.astype(float),
        "customer__channel__value": channel,
    })
    features.loc[rng.random(rows) < 0.03, TENURE] = np.nan
    importance = pd.Series({
        "statements__utilisation__mean__90d": 0.61, "due_outcomes__is_missed__sum__365d": 0.48,
        TENURE: 0.33, THIN_FILE_FEATURE: 0.21, "customer__channel__value": 0.05,
    })
    return scored, features, importance


@pytest.fixture(scope="session")
def scored_sample() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    return synthetic_scored_sample()
