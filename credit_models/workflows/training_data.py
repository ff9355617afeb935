"""Assembling a modelling table: data set → snapshots → labels → features → out-of-time split.

Shared by every job that needs labelled features (training, tuning, backtests), so they all see
the same rows built the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from credit_models.data.fingerprint import data_fingerprint
from credit_models.errors import TrainingDataError
from credit_models.features.engine import FeatureMatrix, build_features
from credit_models.features.snapshots import (
    customer_snapshots,
    default_snapshot_range,
    month_starts,
    read_snapshot_table,
)
from credit_models.features.spec import FeatureSpec, parse_feature_spec
from credit_models.features.store import cached_features
from credit_models.labels.default_label import (
    LABELLED,
    DefaultDefinition,
    LabelSource,
    label_default,
    label_summary,
)
from credit_models.split.factory import Splitter
from credit_models.split.names import UNUSED
from credit_models.timestamps import utc_timestamp
from credit_models.workflows.dataset import LoadedDataset, load_dataset, materialise
from credit_models.workflows.settings import EngineKind, SnapshotSettings, TrainingDataSettings

logger = logging.getLogger("credit_models.training_data")

Stage = Callable[..., None]


@dataclass(frozen=True)
class TrainingData:
    dataset: LoadedDataset
    fingerprint: dict[str, Any]
    definition: DefaultDefinition
    feature_spec: FeatureSpec
    raw_feature_spec: dict[str, Any]
    labels: pd.DataFrame
    """Every snapshot with its label status (the label report is built from it)."""
    labelled: pd.DataFrame
    """The labelled rows: customer_id, as_of, is_bad (bool)."""
    features: FeatureMatrix
    """Aligned row by row with ``labelled``."""
    split: pd.Series
    """Each labelled row's split (dev, valid, calibration, oot or test; ``unused`` for rows of a
    customer grouped into another split)."""
    splitter: Splitter
    label_name: str
    label_text: str
    """The label definition in words, for reports."""
    feature_cache: Path | None
    engine_tags: dict[str, str] = field(default_factory=dict)
    """Where the rows were computed (``engine``; for ``dask`` the scheduler, workers and
    dashboard), tagged on the run."""

    @property
    def label_summary(self) -> pd.DataFrame:
        return label_summary(self.labels)

    @property
    def matrix(self) -> pd.DataFrame:
        """The rows a PD model was developed on: customer_id, as_of, the features, is_bad,
        split."""
        return self.features.frame.assign(is_bad=self.labelled["is_bad"], split=self.split)


def snapshots_for(
    snapshots_cfg: SnapshotSettings, dataset: LoadedDataset, definition: DefaultDefinition
) -> pd.DataFrame:
    """The configured snapshot table, or every customer at each month start of the range."""
    customers = dataset.tables["customers"]
    if snapshots_cfg.table:
        return read_snapshot_table(snapshots_cfg.table, customers)
    return customer_snapshots(customers, snapshot_dates(
        snapshots_cfg, customers["signed_up_at"].min(), dataset.extraction_date, definition))


def snapshot_dates(snapshots_cfg: SnapshotSettings, first_signup: pd.Timestamp,
                   extraction_date: pd.Timestamp, definition: DefaultDefinition
                   ) -> list[pd.Timestamp]:
    """The configured month starts: ``first_as_of``/``last_as_of`` where set, else from
    ``min_history_months`` after the first sign-up to the last complete performance window."""
    first, last = default_snapshot_range(
        first_event=first_signup,
        extraction_date=extraction_date,
        min_history_months=snapshots_cfg.min_history_months,
        performance_months=definition.performance_months,
    )
    first = utc_timestamp(snapshots_cfg.first_as_of) if snapshots_cfg.first_as_of else first
    last = utc_timestamp(snapshots_cfg.last_as_of) if snapshots_cfg.last_as_of else last
    return month_starts(first, last)


def _quiet_stage(message: str, *args: Any) -> None:
    logger.info(message, *args)


def assemble_training_data(
    settings: TrainingDataSettings, stage: Stage = _quiet_stage
) -> TrainingData:
    """The settings were checked when built; the feature spec is checked here, before the first
    expensive step."""
    raw_spec = asdict(settings.features)
    # What is computed, not for which rows: the snapshots enter the cache key as rows.
    spec_key = {key: value for key, value in raw_spec.items() if key != "snapshots"}
    feature_spec = parse_feature_spec(raw_spec)
    definition, splitter = settings.labels, settings.splitter
    from_table = definition.source is LabelSource.table

    if settings.engine.kind is EngineKind.dask:
        from credit_models.workflows.distributed.training_data import rows_on_cluster

        dataset, fingerprint, labels, features, cluster = rows_on_cluster(
            settings, feature_spec, stage)
        engine_tags, cache_folder = cluster.as_tags(), None
        label_name, label_text = definition.name, _event_label_text(definition)
    else:
        materialise(settings.data)
        dataset = load_dataset(settings.data)
        stage("data set %s validated: %s", dataset.path,
              ", ".join(f"{k} {v:,}" for k, v in dataset.report.row_counts.items()))
        fingerprint = data_fingerprint(dataset.tables)
        if from_table:
            labels = provided_labels(dataset)
            label_name = "provided"
            label_text = f"the data set's own outcome (labels table of {dataset.manifest.source})"
        else:
            snapshots = snapshots_for(settings.features.snapshots, dataset, definition)
            labels = label_default(
                snapshots, dataset.tables["bills"], dataset.tables["repayments"], definition,
                dataset.extraction_date, orders=dataset.tables["orders"],
            )
            label_name, label_text = definition.name, _event_label_text(definition)
        engine_tags = {"engine": "local"}
    labelled = labels.loc[labels["status"] == LABELLED, ["customer_id", "as_of", "is_bad"]]
    labelled = labelled.reset_index(drop=True).astype({"is_bad": bool})
    counts = labels["status"].value_counts().to_dict()
    if labelled.empty:
        raise TrainingDataError(f"no snapshot could be labelled ({label_name}); statuses: {counts}")
    if labelled["is_bad"].nunique() < 2:
        raise TrainingDataError(
            f"the label ({label_name}) has one class only: {len(labelled):,} labelled rows, "
            f"{int(labelled['is_bad'].sum()):,} bads; a PD model needs goods and bads"
        )
    stage("labels %s: %s snapshots (%s to %s), %s labelled, bad rate %.2f%%; statuses %s",
          label_name, f"{len(labels):,}", labels["as_of"].min().date(),
          labels["as_of"].max().date(), f"{len(labelled):,}", 100 * labelled["is_bad"].mean(),
          counts)
    split = splitter.assign(labelled)
    stage("split: %s", ", ".join(
        f"{name} {count:,} rows ({int(labelled['is_bad'][split == name].sum()):,} bads)"
        for name, count in split.value_counts().items()
    ) + (" — unused rows belong to customers grouped into another split"
         if (split == UNUSED).any() else ""))

    if settings.engine.kind is not EngineKind.dask:
        started = time.perf_counter()
        engine = settings.engine
        cache_dir = Path(engine.feature_cache_dir) if engine.feature_cache_dir else None
        features, cache_folder = cached_features(
            cache_dir, spec_key, fingerprint, labelled[["customer_id", "as_of"]],
            lambda: build_features(feature_spec, dataset.tables,
                                   labelled[["customer_id", "as_of"]],
                                   chunk_customers=engine.chunk_customers, show_progress=True,
                                   workers=engine.workers),
        )
        stage("%d features for %s snapshots in %.1fs", len(features.feature_names),
              f"{len(labelled):,}", time.perf_counter() - started)
    return TrainingData(
        dataset=dataset, fingerprint=fingerprint, definition=definition,
        feature_spec=feature_spec, raw_feature_spec=raw_spec, labels=labels, labelled=labelled,
        features=features, split=split, splitter=splitter, label_name=label_name,
        label_text=label_text, feature_cache=cache_folder, engine_tags=engine_tags,
    )


def _event_label_text(definition: DefaultDefinition) -> str:
    return (f"bad = ever {definition.bad_days_past_due}+ days past due within "
            f"{definition.performance_months} months after the snapshot ({definition.name})")


def provided_labels(dataset: LoadedDataset) -> pd.DataFrame:
    """The data set's ``labels`` table as labelled snapshots (every row labelled)."""
    table = dataset.tables.get("labels")
    if table is None or table.empty:
        raise TrainingDataError(
            f"labels.source=table needs a labels table in {dataset.path}; it has "
            f"{sorted(dataset.tables)}. Use labels=dpd30_6m (or another event-based label)"
        )
    return table[["customer_id", "as_of", "is_bad"]].assign(status=LABELLED)
