"""The data a run learned from as MLflow dataset inputs, so the run page and the compare view
show the real data set ("Datasets: simulated_20000_seed7 (source)", its digest = the data
fingerprint, its schema and row counts) instead of "Datasets: None". Only metadata is logged:
no row of customer data leaves the machine."""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.types import ColSpec, DataType, Schema

from credit_models.split.names import (
    CALIBRATION,
    DEVELOPMENT,
    OUT_OF_TIME,
    SPLIT_ORDER,
    TEST,
    VALIDATION,
)

DIGEST_LENGTH = 32
"""Hex characters of a digest MLflow stores (its column holds 36)."""
SOURCE_CONTEXT = "source"
SPLIT_CONTEXTS = {DEVELOPMENT: "training", VALIDATION: "validation", CALIBRATION: "calibration",
                  OUT_OF_TIME: "test", TEST: "test"}
"""MLflow's dataset context of each split: training / validation / test read as usual."""


class MetadataDataset(MetaDataset):
    """A metadata-only dataset with a profile (row counts and the like), which MLflow's own
    :class:`MetaDataset` lacks."""

    def __init__(self, source: Any, name: str, digest: str, schema: Schema | None,
                 profile: Mapping[str, Any]) -> None:
        self._profile = dict(profile)
        super().__init__(source, name=name, digest=digest[:DIGEST_LENGTH], schema=schema)

    @property
    def profile(self) -> dict[str, Any]:
        return self._profile

    def to_dict(self) -> dict[str, str]:
        config = super().to_dict()
        config["profile"] = json.dumps(self._profile, default=str)
        return config


def local_source(path: Path) -> Any:
    """MLflow's dataset source for a local folder. MLflow registers two equivalent local
    sources (for ``file:`` and for plain paths) and warns that a path matches both; the choice
    does not matter, so the warning is not passed on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The specified dataset source can be "
                                "interpreted in multiple ways")
        return resolve_dataset_source(str(Path(path).resolve()))


def column_type(dtype: Any) -> DataType:
    """The MLflow column type of a pandas dtype."""
    if pd.api.types.is_bool_dtype(dtype):
        return DataType.boolean
    if pd.api.types.is_integer_dtype(dtype):
        return DataType.long
    if pd.api.types.is_float_dtype(dtype):
        return DataType.double
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DataType.datetime
    return DataType.string


def frame_schema(frames: Mapping[str, pd.DataFrame]) -> Schema:
    """One column spec per column of each frame, named ``<frame>.<column>`` when there are
    several frames."""
    several = len(frames) > 1
    return Schema([ColSpec(column_type(frame[column].dtype),
                           f"{name}.{column}" if several else str(column))
                   for name, frame in frames.items() for column in frame.columns])


def source_dataset(path: Path, tables: Mapping[str, pd.DataFrame],
                   fingerprint: Mapping[str, Any], source: str) -> MetadataDataset:
    """The event data set: its folder, the fingerprint's combined digest, every contract
    table's columns, and rows and date range per table."""
    profile: dict[str, Any] = {"source": source}
    for name, entry in fingerprint.items():
        if isinstance(entry, Mapping):
            profile[name] = {key: entry[key] for key in ("rows", "first", "last") if key in entry}
    return MetadataDataset(local_source(path), Path(path).name,
                           str(fingerprint["combined_sha256"]), frame_schema(tables), profile)


def split_datasets(name: str, rows: pd.DataFrame, split: pd.Series, features: pd.DataFrame,
                   source_path: Path) -> list[tuple[MetadataDataset, str]]:
    """One dataset per split of the modelling table (``rows``: customer_id, as_of, is_bad),
    with its MLflow context: the digest is that of the split's row keys and labels, so two runs
    compared on "the same test rows" show the same digest."""
    schema = frame_schema({"features": features})
    source = local_source(source_path)
    datasets = []
    for split_name in [name for name in SPLIT_ORDER if name in set(split)]:
        part = rows[(split == split_name).to_numpy()]
        digest = hashlib.sha256(pd.util.hash_pandas_object(
            part[["customer_id", "as_of", "is_bad"]], index=False).to_numpy().tobytes())
        profile = {"rows": len(part), "bads": int(part["is_bad"].sum()),
                   "bad_rate": round(float(part["is_bad"].mean()), 6) if len(part) else None,
                   "customers": int(part["customer_id"].nunique()),
                   "first_snapshot": str(part["as_of"].min().date()) if len(part) else None,
                   "last_snapshot": str(part["as_of"].max().date()) if len(part) else None,
                   "features": features.shape[1]}
        datasets.append((MetadataDataset(source, f"{name} ({split_name})", digest.hexdigest(),
                                         schema, profile),
                         SPLIT_CONTEXTS.get(split_name, split_name)))
    return datasets


def log_dataset_inputs(datasets: list[tuple[MetadataDataset, str]]) -> None:
    """Log each (dataset, context) as an input of the active run, in one call."""
    mlflow.log_inputs(datasets=[dataset for dataset, _ in datasets],
                      contexts=[context for _, context in datasets],
                      tags_list=[None] * len(datasets))
