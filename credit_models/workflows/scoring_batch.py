"""A scoring batch: the point-in-time feature matrix of every customer with an open line at one or
more snapshot dates, as one Parquet file that ``credit-models-score`` and
``credit-models-monitor`` read.

It is built by the train job's own steps (the data set loaded and validated, the snapshots of
:func:`~credit_models.features.snapshots.customer_snapshots`, the same feature spec through the
same feature engine), so a batch row equals the training row of the same customer and as_of:
scoring a batch scores what the model was developed on, and no feature sees an event at or after
its as_of. Labels are left out unless asked for; then ``is_bad`` is the train job's label where
the train job would label the row (the performance window complete by the data's extraction
date, not already bad, …) and null elsewhere, with ``label_status`` saying why, so the monitor
can check AUC by month on the matured rows only.

The file is written beside its target under a hidden temporary name and renamed onto it at the
end; an existing file is replaced only when the toolkit wrote it (its Parquet metadata says so).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from credit_models import __version__
from credit_models.data.fingerprint import data_fingerprint
from credit_models.errors import ConfigError, OutputFolderError, TrainingDataError
from credit_models.features.engine import build_features
from credit_models.features.snapshots import customer_snapshots
from credit_models.features.spec import FeatureSpec, parse_feature_spec
from credit_models.features.store import cached_features
from credit_models.labels.default_label import (
    EXCLUDED_ALREADY_BAD,
    EXCLUDED_INACTIVE,
    LABELLED,
    DefaultDefinition,
    LabelSource,
    label_default,
)
from credit_models.timestamps import utc_timestamp
from credit_models.workflows.dataset import load_dataset, materialise
from credit_models.workflows.settings import DataSettings, EngineSettings, FeaturesSettings

logger = logging.getLogger("credit_models.data")

WRITER_KEY = b"credit_models.scoring_batch"
"""Parquet key-value metadata of every batch file: who wrote it and from what. Its presence is
what lets a later batch replace the file; a file without it is someone else's."""
OUTSIDE_POPULATION = {EXCLUDED_ALREADY_BAD: "already bad", EXCLUDED_INACTIVE: "inactive"}
"""Label statuses known at as_of that keep a customer out of the train job's rows, and so out of
a batch: a PD model is neither developed on nor fit to score them (its input contract refuses
the days past due of a customer already in default)."""
NO_EXTRACTION_DATE = pd.Timestamp.max.tz_localize("UTC")
LABEL_COLUMN = "is_bad"
STATUS_COLUMN = "label_status"


@dataclass(frozen=True)
class ScoringBatchSettings:
    """``credit-models-data batch`` (``conf/data_batch.yaml``): which data, which snapshots,
    which features (the train job's groups, so the batch matches what a model was trained on)."""

    seed: int = 7
    data: DataSettings = field(default_factory=DataSettings)
    features: FeaturesSettings = field(default_factory=FeaturesSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    labels: DefaultDefinition = field(default_factory=DefaultDefinition)
    as_of: Any = "???"
    """One snapshot date (``2025-01-01``) or a list (``[2024-12-01,2025-01-01]``); a date
    without a time is midnight UTC and sees every event before that day."""
    output: str = "???"
    """The Parquet file written (``….parquet``)."""
    with_labels: bool = False
    """Add ``is_bad`` (null where the train job would not label the row) and ``label_status``."""
    show_progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "as_of", [stamp.isoformat() for stamp in self.snapshot_dates])
        if not str(self.output).endswith(".parquet"):
            raise ConfigError(f"output must name a .parquet file (a scoring batch is one file); "
                              f"got {self.output!r}")
        if self.with_labels and self.labels.source is LabelSource.table:
            raise ConfigError(
                "with_labels=true derives is_bad from the events (labels=dpd30_6m, …); "
                "labels=provided has no performance window to complete"
            )

    @property
    def snapshot_dates(self) -> list[pd.Timestamp]:
        """The as_of values as UTC instants, in the order given."""
        return snapshot_dates(self.as_of)


def snapshot_dates(as_of: Any) -> list[pd.Timestamp]:
    """``as_of`` (one ISO date or a list of them) as UTC instants, in the order given; an empty,
    unreadable or repeated date is a :class:`ConfigError`."""
    values = as_of if isinstance(as_of, list | tuple) else [as_of]
    if not values:
        raise ConfigError("as_of is empty: give one date (as_of=2025-01-01) or a list "
                          "(as_of=[2024-12-01,2025-01-01])")
    dates = []
    for value in values:
        try:        # ISO 8601 only: pandas alone would read "October" as a date
            dates.append(utc_timestamp(pd.Timestamp(datetime.fromisoformat(str(value)))))
        except ValueError:
            raise ConfigError(f"as_of: {value!r} is not a date (write 2025-01-01 or "
                              "2025-01-01T00:00:00+00:00)") from None
    repeated = sorted({date.isoformat() for date in dates if dates.count(date) > 1})
    if repeated:
        raise ConfigError(f"as_of names {', '.join(repeated)} more than once")
    return dates


@dataclass(frozen=True)
class ScoringBatch:
    """What was written: the rows per snapshot date and, with labels, how many matured."""

    path: Path
    frame: pd.DataFrame
    """customer_id, as_of, the features (and is_bad, label_status with labels)."""
    feature_names: list[str]
    with_labels: bool
    excluded: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))
    """Customers with an open line left out, by (as_of, label status): already bad, inactive."""

    def summary(self) -> str:
        counts = self.frame.groupby("as_of", sort=False).size()
        lines = [(f"scoring batch written to {self.path}: {len(self.frame):,} rows × "
                  f"{len(self.feature_names)} features")]
        for as_of, rows in counts.items():
            line = f"  as_of {as_of.isoformat()}: {rows:,} customers"
            left_out = {status: count for (date, status), count in self.excluded.items()
                        if date == as_of}
            if left_out:
                line += " (left out: " + ", ".join(
                    f"{count:,} {OUTSIDE_POPULATION[status]}"
                    for status, count in left_out.items()) + ")"
            if self.with_labels:
                labels = self.frame.loc[self.frame["as_of"] == as_of, LABEL_COLUMN]
                known = labels.notna()
                line += (f", {int(known.sum()):,} labelled ("
                         f"{int(labels[known].sum()):,} bad), {int((~known).sum()):,} without "
                         "a label")
            lines.append(line)
        return "\n".join(lines)


def build_scoring_batch(settings: ScoringBatchSettings) -> ScoringBatch:
    """Build the batch and write it to ``settings.output`` (see the module's docstring)."""
    output = Path(settings.output)
    check_replaceable(output)          # before any work: a refusal costs nothing
    dates = settings.snapshot_dates
    materialise(settings.data, show_progress=settings.show_progress)
    dataset = load_dataset(settings.data)
    extraction = dataset.extraction_date
    late = [date for date in dates if date > extraction]
    if late:
        raise ConfigError(
            f"as_of {', '.join(date.isoformat() for date in late)} is after the data set's "
            f"extraction date {extraction.isoformat()}: the features would take the time "
            "between for a time without events. Choose snapshots up to the extraction date"
        )
    snapshots, excluded = batch_population(dataset.tables, dates, settings.labels)
    counts = snapshots.groupby("as_of").size().reindex(dates, fill_value=0)
    empty = [date.isoformat() for date, rows in counts.items() if rows == 0]
    if empty:
        raise TrainingDataError(
            f"no customer of {dataset.path} had an open line, was active and not already bad "
            f"at as_of {', '.join(empty)}: nothing to score then")

    raw_spec = asdict(settings.features)
    # The train job's cache key: the spec without its snapshot settings (the rows enter apart).
    spec_key = {key: value for key, value in raw_spec.items() if key != "snapshots"}
    spec = parse_feature_spec(raw_spec)
    engine = settings.engine
    cache_dir = Path(engine.feature_cache_dir) if engine.feature_cache_dir else None
    features, _ = cached_features(
        cache_dir, spec_key, data_fingerprint(dataset.tables), snapshots,
        lambda: build_features(spec, dataset.tables, snapshots,
                               chunk_customers=engine.chunk_customers,
                               show_progress=settings.show_progress),
    )
    frame = batch_frame(features.frame, snapshots, dataset.tables, settings.labels, extraction,
                        with_labels=settings.with_labels)
    provenance = {
        "writer": "scoring_batch", "package_version": __version__,
        "data_path": str(dataset.path), "source": dataset.manifest.source,
        "extraction_date": extraction.isoformat(), "as_of": settings.as_of,
        "features": settings.features.name, "with_labels": settings.with_labels,
        "label": settings.labels.name if settings.with_labels else None,
    }
    write_batch(frame, output, provenance)
    return ScoringBatch(output, frame, features.feature_names, settings.with_labels, excluded)


def batch_population(tables: dict[str, pd.DataFrame], dates: list[pd.Timestamp],
                     labels: DefaultDefinition) -> tuple[pd.DataFrame, pd.Series]:
    """The batch's (customer_id, as_of) rows of ``tables`` (all customers, or one customer
    partition: each customer's rows depend on their own events only), and the customers with an
    open line left out, counted by (as_of, label status)."""
    candidates = customer_snapshots(tables["customers"], dates)
    # The train job's own exclusions that are known at as_of (already bad, inactive), from its
    # label function with no extraction date to stop a window: no performance is looked at.
    known_at_as_of = label_default(candidates, tables["bills"], tables["repayments"], labels,
                                   NO_EXTRACTION_DATE, orders=tables.get("orders"))
    out = known_at_as_of["status"].isin(OUTSIDE_POPULATION).to_numpy()
    excluded = known_at_as_of.loc[out].groupby(["as_of", "status"]).size()
    return candidates.loc[~out].reset_index(drop=True), excluded


def batch_frame(features: pd.DataFrame, snapshots: pd.DataFrame,
                tables: dict[str, pd.DataFrame], labels: DefaultDefinition,
                extraction: pd.Timestamp, *, with_labels: bool) -> pd.DataFrame:
    """The batch's rows from the feature frame of ``snapshots``: with labels, ``is_bad`` where
    the train job would label the row (null elsewhere) and ``label_status``."""
    frame = features.reset_index(drop=True)
    if with_labels:
        status = label_default(snapshots, tables["bills"], tables["repayments"], labels,
                               extraction, orders=tables.get("orders")).reset_index(drop=True)
        labelled = status["status"] == LABELLED
        frame[LABEL_COLUMN] = status["is_bad"].astype("boolean").where(labelled)
        frame[STATUS_COLUMN] = status["status"].astype("str")
    return frame


def partition_batch(tables: dict[str, pd.DataFrame], dates: list[pd.Timestamp],
                    spec: FeatureSpec, labels: DefaultDefinition, extraction: pd.Timestamp, *,
                    with_labels: bool = False,
                    chunk_customers: int = 10_000) -> tuple[pd.DataFrame, pd.Series]:
    """The batch of one customer partition's tables (no feature cache: a worker computes it
    once), and its left-out counts: the same steps as :func:`build_scoring_batch`, so the
    partitions of a data set together give the batch of the whole."""
    snapshots, excluded = batch_population(tables, dates, labels)
    features = build_features(spec, tables, snapshots, chunk_customers=chunk_customers,
                              show_progress=False)
    return batch_frame(features.frame, snapshots, tables, labels, extraction,
                       with_labels=with_labels), excluded


def check_replaceable(path: Path) -> None:
    """Raise :class:`OutputFolderError` unless ``path`` is absent or a batch the toolkit wrote."""
    if not path.exists() and not path.is_symlink():
        return
    fix = "Nothing was changed. Choose another output, or move that file away."
    if path.is_dir() or path.is_symlink():
        raise OutputFolderError(f"{path} is a {'folder' if path.is_dir() else 'link'}: a scoring "
                                f"batch is one Parquet file. {fix}")
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        metadata = {}
    if WRITER_KEY not in metadata:
        raise OutputFolderError(
            f"{path} exists and was not written by credit-models-data batch (its Parquet "
            f"metadata has no {WRITER_KEY.decode()} entry): the toolkit never overwrites a file "
            f"it did not write. {fix}"
        )


def write_batch(frame: pd.DataFrame, path: Path, provenance: dict[str, Any]) -> None:
    """Write ``frame`` to a hidden temporary file beside ``path`` (skipped by the readers of a
    folder of batches) and rename it onto ``path``: a reader sees the old file or the new one,
    and a failure leaves no partial file."""
    check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), WRITER_KEY: json.dumps(provenance).encode()}
    table = table.replace_schema_metadata(metadata)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.partial")
    try:
        pq.write_table(table, partial, compression="zstd")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("scoring batch of %s rows written to %s", f"{len(frame):,}", path)
