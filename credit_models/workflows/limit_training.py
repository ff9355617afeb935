"""The credit-limit model's stages: the capacity table, the capacity model, the policy's portfolio
at a snapshot. Plain functions of data and settings (no Hydra, no MLflow), like the PD stages.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_models.errors import ConfigError
from credit_models.features.engine import build_features
from credit_models.features.snapshots import customer_snapshots
from credit_models.labels.capacity_target import CapacityDefinition, capacity_target
from credit_models.limits.account_facts import AccountFeatures, account_facts
from credit_models.limits.capacity_metrics import capacity_metrics, capacity_metrics_by_segment
from credit_models.limits.capacity_model import CapacityModel, CapacitySettings
from credit_models.models.pd_model import PdModel
from credit_models.models.xgb_pd import model_inputs
from credit_models.split.customer_groups import customer_uniforms
from credit_models.split.names import DEVELOPMENT, VALIDATION
from credit_models.timestamps import utc_timestamp
from credit_models.workflows.training_data import TrainingData

logger = logging.getLogger("credit_models.limits")

CAPACITY_SPLIT_SHARES = {DEVELOPMENT: 0.6, VALIDATION: 0.2}
"""Customer shares of the capacity model's own snapshots (the rest is the evaluation split)."""


@dataclass(frozen=True)
class CapacityTable:
    """The capacity model's rows: inputs, target (peak monthly demand) and split."""

    inputs: pd.DataFrame
    target: pd.Series
    split: pd.Series
    evaluation_split: str


def capacity_table(data: TrainingData, definition: CapacityDefinition,
                   as_of_dates: Sequence[str], chunk_customers: int, seed: int,
                   workers: int | None = 1) -> CapacityTable:
    """The PD's labelled snapshots and split, or — for data whose labelled snapshots have no
    months after them — snapshots of their own at ``as_of_dates``, customers split 60/20/20.

    Snapshots whose demand window runs past the extraction date have no target: they are counted
    in the log and left out, as unlabelled rows are for the PD model.
    """
    tables = data.dataset.tables
    evaluation = data.splitter.evaluation_split
    if as_of_dates:
        snapshots = customer_snapshots(tables["customers"],
                                       [utc_timestamp(text) for text in as_of_dates])
        features = build_features(data.feature_spec, tables, snapshots,
                                  chunk_customers=chunk_customers, show_progress=True,
                                  workers=workers)
        uniform = customer_uniforms(snapshots["customer_id"], seed)
        split = pd.Series(evaluation, index=snapshots.index)
        split[uniform < CAPACITY_SPLIT_SHARES[DEVELOPMENT]] = DEVELOPMENT
        split[(uniform >= CAPACITY_SPLIT_SHARES[DEVELOPMENT])
              & (uniform < sum(CAPACITY_SPLIT_SHARES.values()))] = VALIDATION
        frame, names = features.frame, features.feature_names
    else:
        snapshots, split = data.labelled[["customer_id", "as_of"]], data.split
        frame, names = data.features.frame, data.features.feature_names
    target = capacity_target(snapshots, tables, definition, data.dataset.extraction_date)
    known = target.notna()
    if not known.all():
        logger.info("capacity target: %s of %s snapshots have a complete %d-month demand window; "
                    "the other %s (window past the extraction date) are left out",
                    f"{int(known.sum()):,}", f"{len(target):,}", definition.months,
                    f"{int((~known).sum()):,}")
    inputs = model_inputs(frame, names)
    return CapacityTable(inputs[known], target[known], split[known], evaluation)


@dataclass(frozen=True)
class FittedCapacity:
    model: CapacityModel
    metrics: dict[str, float]
    by_segment: pd.DataFrame


def fit_capacity(table: CapacityTable, settings: CapacitySettings, seed: int,
                 segments: pd.Series | None = None) -> FittedCapacity:
    """Fit on development (early stopping on validation); judge on the evaluation split."""
    rows = {name: table.split == name for name in (DEVELOPMENT, VALIDATION,
                                                   table.evaluation_split)}
    model = CapacityModel(settings, random_state=seed).fit(
        table.inputs[rows[DEVELOPMENT]], table.target[rows[DEVELOPMENT]],
        eval_set=(table.inputs[rows[VALIDATION]], table.target[rows[VALIDATION]]),
    )
    metrics: dict[str, float] = {}
    for name in (VALIDATION, table.evaluation_split):
        quantiles = model.predict_quantiles(table.inputs[rows[name]])
        metrics.update({f"capacity/{name}/{key}": value for key, value in capacity_metrics(
            table.target[rows[name]], quantiles, settings.quantiles).items()})
    evaluated = table.inputs[rows[table.evaluation_split]]
    segment = (segments.reindex(evaluated.index).fillna("missing").astype(str)
               if segments is not None else pd.Series("all", index=evaluated.index))
    by_segment = capacity_metrics_by_segment(
        table.target[rows[table.evaluation_split]], model.predict_quantiles(evaluated),
        settings.quantiles, segment)
    return FittedCapacity(model, metrics, by_segment)


def policy_inputs(features: pd.DataFrame, feature_names: Sequence[str], pd_model: PdModel,
                  capacity: CapacityModel, account: AccountFeatures) -> pd.DataFrame:
    """PD, capacity quantiles and account facts of feature rows (same index): what the policy
    decides from."""
    inputs = model_inputs(features, list(feature_names))
    return pd.concat([
        pd.DataFrame({"pd": pd_model.predict_proba(inputs)[:, 1]}, index=inputs.index),
        capacity.predict_quantiles(inputs),
        account_facts(features, account),
    ], axis=1)


def portfolio_at(data: TrainingData, pd_model: PdModel, capacity: CapacityModel,
                 account: AccountFeatures, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """The evaluation split's customers at one snapshot, in the policy's input shape (index
    customer_id), with the realised outcome ``is_bad`` beside it for the backtest."""
    rows = data.split == data.splitter.evaluation_split
    dates = data.labelled.loc[rows, "as_of"]
    as_of = dates.min() if as_of is None else as_of
    rows &= data.labelled["as_of"] == as_of
    if not rows.any():
        raise ConfigError(f"limits.as_of {as_of} is not a snapshot of the "
                         f"{data.splitter.evaluation_split} split; it has "
                         f"{sorted(str(d.date()) for d in dates.unique())}")
    portfolio = pd.concat([
        policy_inputs(data.features.frame[rows], data.features.feature_names, pd_model,
                      capacity, account),
        data.labelled.loc[rows, ["is_bad"]],
    ], axis=1)
    portfolio.index = pd.Index(data.labelled.loc[rows, "customer_id"].to_numpy(),
                               name="customer_id")
    portfolio.attrs["as_of"] = as_of
    return portfolio


def monthly_scores(data: TrainingData, pd_model: PdModel, capacity: CapacityModel,
                   account: AccountFeatures, customers: pd.Index, start: pd.Timestamp,
                   end: pd.Timestamp, chunk_customers: int, workers: int | None = 1
                   ) -> pd.DataFrame:
    """The policy's inputs (:func:`policy_inputs`) for ``customers`` at every month start in
    (start, end): what a monthly review would see, each from the history before that month start
    (the feature engine's point-in-time rule)."""
    dates = [date for date in pd.date_range(start, end, freq="MS", tz="UTC")
             if start < date < end]
    if not dates:
        return pd.DataFrame(columns=["customer_id", "as_of"])
    snapshots = pd.DataFrame({
        "customer_id": np.tile(customers.to_numpy(), len(dates)),
        "as_of": pd.DatetimeIndex(np.repeat(pd.DatetimeIndex(dates), len(customers))),
    })
    features = build_features(data.feature_spec, data.dataset.tables, snapshots,
                              chunk_customers=chunk_customers, show_progress=True,
                              workers=workers)
    scored = policy_inputs(features.frame, features.feature_names, pd_model, capacity, account)
    return pd.concat([snapshots, scored.set_axis(snapshots.index)], axis=1)

def limits_by_pd_band(decisions: pd.DataFrame, limit_columns: Sequence[str]) -> pd.DataFrame:
    """Per PD band: customers, mean PD, and the mean and median of each limit column — how the
    recommended limits compare with those granted, band by band."""
    grouped = decisions.groupby("pd_band", observed=True)
    summary = grouped.agg(customers=("pd", "size"), mean_pd=("pd", "mean"),
                          bad_rate=("is_bad", "mean"))
    for column in limit_columns:
        summary[f"{column}_mean"] = grouped[column].mean()
        summary[f"{column}_median"] = grouped[column].median()
    return summary

