"""A customer-partitioned data set made ready for the cluster's work, before any of it: workers
big enough for a partition, no customer straddling partitions, and every partition validated by
the contract's own rules (the local engine's :func:`~credit_models.data.validation.check_tables`,
partition by partition), with the whole data set's summary combined from the partitions'."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from credit_models.data.contract import TABLES
from credit_models.data.fingerprint import table_digest
from credit_models.data.plausibility import PlausibilityConfig
from credit_models.data.validation import ValidationReport, check_tables
from credit_models.errors import DataContractError
from credit_models.workflows.distributed.cluster import ClusterInfo, check_partition_memory
from credit_models.workflows.distributed.partitions import (
    CustomerPartitions,
    check_customer_partitioning,
)

if TYPE_CHECKING:
    from distributed import Client


def checked_partitions(
    client: Client, info: ClusterInfo, partitions: CustomerPartitions,
    extraction_date: pd.Timestamp, plausibility: PlausibilityConfig | None = None,
) -> PartitionedSummary:
    """Refuse what the cluster cannot take or the contract rejects (naming the partition), and
    summarise the data set."""
    check_partition_memory(info, max(partitions.table_bytes, default=0),
                           f"data set {partitions.root}")
    check_customer_partitioning(client, partitions)
    return summarise_partitions(client, partitions, extraction_date, plausibility)


@dataclass(frozen=True)
class PartitionSummary:
    """What the job needs to know of one partition without its rows."""

    name: str
    row_counts: dict[str, int]
    digests: dict[str, str]
    first: dict[str, pd.Timestamp]
    last: dict[str, pd.Timestamp]
    earliest_signup: pd.Timestamp | None
    notes: list[str]
    ignored_columns: dict[str, list[str]]
    schema: dict[str, pd.DataFrame]
    """Zero-row frames with each table's columns and dtypes."""


@dataclass(frozen=True)
class PartitionedSummary:
    """The whole data set's summary, combined from its partitions'."""

    partitions: list[PartitionSummary]

    @property
    def report(self) -> ValidationReport:
        counts = {name: sum(p.row_counts.get(name, 0) for p in self.partitions)
                  for name in self.partitions[0].row_counts}
        notes = sorted({note for p in self.partitions for note in p.notes})
        ignored: dict[str, list[str]] = {}
        for part in self.partitions:
            for table, columns in part.ignored_columns.items():
                ignored[table] = sorted(set(ignored.get(table, [])) | set(columns))
        where = f"validated in {len(self.partitions)} customer partitions on a Dask cluster"
        return ValidationReport(violations=[], ignored_columns=ignored, row_counts=counts,
                                notes=[*notes, where])

    @property
    def fingerprint(self) -> dict[str, Any]:
        """:func:`~credit_models.data.fingerprint.data_fingerprint`'s shape; each table's digest
        is that of its partitions' digests in partition order (a partitioned data set's own
        fingerprint: the same partitions give the same one)."""
        fingerprint: dict[str, Any] = {}
        for name in sorted(self.partitions[0].row_counts):
            digest = hashlib.sha256("".join(p.digests[name] for p in self.partitions).encode())
            entry: dict[str, Any] = {"rows": sum(p.row_counts[name] for p in self.partitions),
                                     "sha256": digest.hexdigest()}
            firsts = [p.first[name] for p in self.partitions if name in p.first]
            if firsts:
                entry["first"] = min(firsts).isoformat()
                entry["last"] = max(p.last[name] for p in self.partitions
                                    if name in p.last).isoformat()
            fingerprint[name] = entry
        combined = hashlib.sha256("".join(
            entry["sha256"] for entry in fingerprint.values()).encode())
        fingerprint["combined_sha256"] = combined.hexdigest()
        fingerprint["partitions"] = len(self.partitions)
        return fingerprint

    @property
    def earliest_signup(self) -> pd.Timestamp:
        return min(p.earliest_signup for p in self.partitions if p.earliest_signup is not None)

    @property
    def schema(self) -> dict[str, pd.DataFrame]:
        return self.partitions[0].schema


def summarise_partitions(
    client: Client, partitions: CustomerPartitions, extraction_date: pd.Timestamp,
    plausibility: PlausibilityConfig | None,
) -> PartitionedSummary:
    """Validate every partition on the cluster (the local engine's rules, partition by
    partition) and summarise it; a violation stops the job naming the partition."""
    futures = client.map(_summarise, [partitions] * partitions.n_partitions, partitions.names,
                         extraction_date=extraction_date, plausibility=plausibility,
                         pure=False)
    return PartitionedSummary(client.gather(futures))


def _summarise(partitions: CustomerPartitions, name: str, extraction_date: pd.Timestamp,
               plausibility: PlausibilityConfig | None) -> PartitionSummary:
    tables = partitions.read_partition(name)
    try:
        report = check_tables(tables, extraction_date, plausibility)
    except DataContractError as error:
        raise DataContractError([
            violation.__class__(
                f"{violation.table} (partition {name})", violation.column, violation.rule,
                violation.count, violation.examples)
            for violation in error.violations]) from None
    first, last = {}, {}
    for table, frame in tables.items():
        column = TABLES[table].time_column if table in TABLES else None
        if column and len(frame):
            first[table], last[table] = frame[column].min(), frame[column].max()
    customers = tables["customers"]
    return PartitionSummary(
        name=name, row_counts=dict(report.row_counts),
        digests={table: table_digest(frame) for table, frame in tables.items()},
        first=first, last=last,
        earliest_signup=customers["signed_up_at"].min() if len(customers) else None,
        notes=list(report.notes), ignored_columns=dict(report.ignored_columns),
        schema={table: frame.iloc[:0] for table, frame in tables.items()},
    )
