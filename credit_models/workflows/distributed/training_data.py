"""The training rows of ``engine=dask``: the same :class:`TrainingData` the local engine
assembles, its per-customer work (validation, labels, features) done on the cluster."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from credit_models.features.engine import FeatureMatrix
from credit_models.features.spec import FeatureSpec
from credit_models.labels.default_label import LABELLED, LabelSource
from credit_models.timestamps import utc_timestamp
from credit_models.workflows.dataset import LoadedDataset, materialise
from credit_models.workflows.distributed.cluster import ClusterInfo, open_cluster
from credit_models.workflows.distributed.labelled_features import (
    LABEL_COLUMNS,
    attribute_dtypes,
    check_supported,
    feature_descriptions,
    feature_matrix,
    gather_rows,
    labelled_features,
)
from credit_models.workflows.distributed.partitions import open_partitioned_dataset
from credit_models.workflows.distributed.validation import checked_partitions
from credit_models.workflows.settings import TrainingDataSettings
from credit_models.workflows.training_data import snapshot_dates


def rows_on_cluster(
    settings: TrainingDataSettings, feature_spec: FeatureSpec, stage: Any
) -> tuple[LoadedDataset, dict[str, Any], pd.DataFrame, FeatureMatrix, ClusterInfo]:
    """(data set, fingerprint, every snapshot's label, the labelled rows' features, cluster) of the configured
    data set, computed on the configured cluster.

    The data set's rows stay on the cluster: the returned :class:`LoadedDataset` holds zero-row
    tables that give each table's columns and dtypes, its report the combined validation."""
    definition = settings.labels
    check_supported(settings.features.snapshots.table,
                    definition.source is LabelSource.table)
    path = materialise(settings.data)
    partitions = open_partitioned_dataset(str(path))
    manifest = partitions.manifest
    if settings.data.extraction_date:
        manifest = type(manifest)(utc_timestamp(settings.data.extraction_date).isoformat(),
                                  manifest.source, manifest.details)
    extraction = manifest.extraction_timestamp
    with open_cluster(settings.engine) as (client, info):
        summary = checked_partitions(client, info, partitions, extraction,
                                     settings.data.plausibility)
        dataset = LoadedDataset(path=path, tables=summary.schema, manifest=manifest,
                                report=summary.report)
        stage("data set %s validated on the cluster in %d partitions: %s", path,
              partitions.n_partitions,
              ", ".join(f"{k} {v:,}" for k, v in dataset.report.row_counts.items()))
        dates = snapshot_dates(settings.features.snapshots, summary.earliest_signup, extraction,
                               definition)
        started = time.perf_counter()
        rows = labelled_features(partitions, feature_spec, definition, dates,
                                 extraction, settings.engine.chunk_customers, summary.schema)
        frame = gather_rows(client, rows, in_flight=info.workers)
        seconds = time.perf_counter() - started
    labels = frame[LABEL_COLUMNS]
    features = feature_matrix(frame, np.flatnonzero((labels["status"] == LABELLED).to_numpy()),
                              feature_descriptions(feature_spec, summary.schema),
                              attribute_dtypes(summary.schema["customers"]))
    stage("labels and %d features for %s snapshots on the cluster in %.1fs (%.0f snapshots/s)",
          len(features.feature_names), f"{len(labels):,}", seconds,
          len(labels) / max(seconds, 1e-9))
    return dataset, summary.fingerprint, labels, features, info
