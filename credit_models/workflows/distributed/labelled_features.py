"""Labels and point-in-time features of a customer-partitioned data set, computed partition by
partition on a Dask cluster.

Every partition runs the local engine's own functions on its customers' tables alone (validation,
month-start snapshots, :func:`~credit_models.labels.default_label.label_default`,
:func:`~credit_models.features.engine.build_features`): a customer's events never straddle
partitions, so each row equals the local engine's. No process ever holds more than one
partition's events; what comes back to the job is the modelling table (one row per snapshot) and
per-partition summaries (row counts, digests, date ranges).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from credit_models.data.contract import ATTRIBUTE_PREFIX
from credit_models.errors import ConfigError
from credit_models.features.engine import FeatureMatrix, build_features
from credit_models.features.snapshots import customer_snapshots
from credit_models.features.spec import FeatureSpec, feature_name
from credit_models.labels.default_label import LABELLED, DefaultDefinition, label_default
from credit_models.workflows.distributed.partitions import CustomerPartitions

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client

logger = logging.getLogger(__name__)

LABEL_COLUMNS = ["customer_id", "as_of", "is_bad", "status", "is_indeterminate"]


def labelled_features(
    partitions: CustomerPartitions,
    spec: FeatureSpec,
    definition: DefaultDefinition,
    as_of_dates: list[pd.Timestamp],
    extraction_date: pd.Timestamp,
    chunk_customers: int,
    schema: Mapping[str, pd.DataFrame],
) -> dd.DataFrame:
    """Every month-start snapshot of every partition's customers with its label status and, for
    labelled rows, its features (missing for the others), as a lazy Dask frame of one partition
    per customer partition. Its explicit ``meta`` is the same computation on zero rows."""
    import dask.dataframe as dd

    arguments = {"spec": spec, "definition": definition, "as_of_dates": as_of_dates,
                 "extraction_date": extraction_date, "chunk_customers": chunk_customers}
    meta = _rows_of({name: frame.iloc[:0] for name, frame in schema.items()}, **arguments)
    text = attribute_dtypes(schema["customers"])
    meta = meta.astype({name: "float64" if dtype != "category" else "str"
                        for name, dtype in text.items() if name in meta})
    return dd.from_map(_partition_rows, partitions.names, meta=meta, enforce_metadata=False,
                       label="labelled-features", partitions=partitions, **arguments)


def _partition_rows(name: str, partitions: CustomerPartitions, **arguments: Any) -> pd.DataFrame:
    return _rows_of(partitions.read_partition(name), **arguments)


def _rows_of(
    tables: Mapping[str, pd.DataFrame], spec: FeatureSpec, definition: DefaultDefinition,
    as_of_dates: list[pd.Timestamp], extraction_date: pd.Timestamp, chunk_customers: int,
) -> pd.DataFrame:
    """One partition's snapshots, labels and features: the local engine's own calls."""
    snapshots = customer_snapshots(tables["customers"], as_of_dates)
    labels = label_default(snapshots, tables["bills"], tables["repayments"], definition,
                           extraction_date, orders=tables["orders"])
    labels = labels[LABEL_COLUMNS].reset_index(drop=True)
    labelled = np.flatnonzero((labels["status"] == LABELLED).to_numpy())
    matrix = build_features(spec, tables, labels.loc[labelled, ["customer_id", "as_of"]],
                            chunk_customers=chunk_customers)
    features = matrix.frame.drop(columns=["customer_id", "as_of"])
    features.index = labelled
    features = features.reindex(labels.index)
    for column in features.columns:     # each partition knows only its own categories
        if isinstance(features[column].dtype, pd.CategoricalDtype):
            features[column] = features[column].astype("str")
    frame = pd.concat([labels, features], axis=1)
    frame.attrs = {}
    return frame


def check_supported(snapshot_table: str | None, labels_from_table: bool) -> None:
    """What the Dask engine does not do yet, refused before any work."""
    if snapshot_table:
        raise ConfigError(
            "engine=dask builds month-start snapshots; features.snapshots.table is not "
            "supported with it yet: use engine=local, or first_as_of/last_as_of")
    if labels_from_table:
        raise ConfigError(
            "engine=dask labels from events; labels.source=table (application data, one row "
            "per customer) needs no cluster: use engine=local")


def feature_descriptions(spec: FeatureSpec, schema: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """What each feature means, named as the local engine names them: the spec's, then one per
    application attribute of the customers table."""
    empty = pd.DataFrame({"customer_id": pd.Series(dtype="int64"),
                          "as_of": pd.Series(dtype="datetime64[us, UTC]")})
    return build_features(spec, {name: frame.iloc[:0] for name, frame in schema.items()},
                          empty).descriptions


def gather_rows(client: Client, rows: dd.DataFrame, in_flight: int) -> pd.DataFrame:
    """The modelling table on this machine, rows in the local engine's order (by as_of, then
    by customer in partition order). Partitions are computed ``in_flight`` at a time and each is
    fetched as soon as it is done, so a worker never holds more than the partitions it is
    computing (``compute()`` would concatenate them all on one worker first). Dask's own text
    dtype (Arrow strings with ``pd.NA``) is turned back into pandas' default one."""
    from distributed import as_completed

    parts = rows.to_delayed()
    frames: list[pd.DataFrame | None] = [None] * len(parts)
    waiting = iter(enumerate(parts))
    positions: dict[Any, int] = {}
    running = as_completed()

    def submit_next() -> None:
        for position, part in waiting:
            future = client.compute(part)
            positions[future.key] = position
            running.add(future)
            return

    for _ in range(max(1, in_flight)):
        submit_next()
    for future in running:
        frames[positions.pop(future.key)] = future.result()
        future.release()
        submit_next()
    frame = pd.concat(frames, ignore_index=True)
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.StringDtype) and frame[column].dtype.na_value is pd.NA:
            frame[column] = frame[column].astype("str")
    order = np.argsort(frame["as_of"].to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def attribute_dtypes(customers: pd.DataFrame) -> dict[str, Any]:
    """Each application attribute feature's dtype as the local engine makes it: the customers
    column's for numbers, ``category`` for text. (On zero rows the engine cannot tell text
    from numbers, so a Dask frame's metadata and the gathered table take them from here.)"""
    return {
        feature_name("customer", str(column).removeprefix(ATTRIBUTE_PREFIX), "value", None):
            customers[column].dtype if pd.api.types.is_numeric_dtype(customers[column])
            else "category"
        for column in customers.columns if str(column).startswith(ATTRIBUTE_PREFIX)
    }


def feature_matrix(frame: pd.DataFrame, labelled: np.ndarray, descriptions: dict[str, str],
                   dtypes: Mapping[str, Any]) -> FeatureMatrix:
    """The labelled rows' features as the local engine returns them: the same columns, meanings
    and attribute ``dtypes`` (an integer attribute came back as floats, being missing on
    unlabelled rows; text as plain strings, each partition knowing only its own categories)."""
    columns = ["customer_id", "as_of", *descriptions]
    rows = frame.loc[labelled, columns].reset_index(drop=True)
    rows = rows.astype({name: dtype for name, dtype in dtypes.items() if name in rows})
    return FeatureMatrix(frame=rows.copy(), descriptions=dict(descriptions))   # one block
