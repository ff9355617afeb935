"""A training run's feature matrix, got back without the run having to store customers' rows.

By default a PD run logs no rows (``mlflow.log_feature_matrix: false``): it logs
``features/matrix_reference.json`` instead — the matrix's fingerprint (a content hash), its schema
(columns, dtypes, rows per split) and how it was built (the data set's absolute path and
fingerprint, the feature spec and snapshots, the label and split settings, the seed, the local
feature cache). Compare, monitor and explain read a run's rows through :func:`training_rows_file`
alone: the logged matrix when the run has one, else the matrix rebuilt from the reference (the
feature cache entry is reused when it is still there) and checked against the fingerprint, else an
error saying how to get the rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient

from credit_models.data.fingerprint import table_digest
from credit_models.workflows.settings import TrainingDataSettings
from credit_models.workflows.structured import settings_from
from credit_models.workflows.training_data import TrainingData, assemble_training_data

logger = logging.getLogger(__name__)

FEATURE_MATRIX_ARTIFACT = "features/feature_matrix.parquet"
"""The training run's feature matrix, logged only on request: customer_id, as_of, the features,
is_bad, split."""
MATRIX_REFERENCE_ARTIFACT = "features/matrix_reference.json"
"""Always logged: the matrix's fingerprint and schema and what rebuilds it (no rows)."""
BUILD_GROUPS = ("data", "features", "engine", "labels", "split")
"""The config groups (with ``seed``) that determine the matrix's rows, columns and splits."""
_HOW_TO_GET_ROWS = (
    "train with mlflow.log_feature_matrix=true to log the rows with the run, or give rows of "
    "your own (credit-models-compare data.path=…, credit-models-explain feature_matrix=… or "
    "source=data)"
)


class TrainingRowsError(LookupError):
    """A run's training rows cannot be got back; the message says why and how to get them."""


def training_matrix(data: TrainingData) -> pd.DataFrame:
    """The rows a PD model was developed on: customer_id, as_of, the features, is_bad, split."""
    return data.features.frame.assign(is_bad=data.labelled["is_bad"], split=data.split)


def matrix_fingerprint(matrix: pd.DataFrame) -> str:
    """SHA-256 of the matrix's content, the same whether it was built, read from the feature
    cache or read from Parquet: timestamps count as UTC nanoseconds, text and categories as their
    values."""
    canonical = {}
    for name in matrix.columns:
        column = matrix[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            column = column.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        elif pd.api.types.is_datetime64_dtype(column.dtype):
            column = column.astype("datetime64[ns]")
        elif not pd.api.types.is_numeric_dtype(column.dtype) or isinstance(
                column.dtype, pd.CategoricalDtype):
            column = column.astype(object).where(column.notna(), None)
        canonical[name] = column
    return table_digest(pd.DataFrame(canonical, index=matrix.index))


def matrix_reference(
    data: TrainingData, matrix: pd.DataFrame, resolved: dict[str, Any], *, logged: bool
) -> dict[str, Any]:
    """What a run records instead of the rows: fingerprint, schema and the build settings with
    absolute paths (so a job run from another directory finds the data and the cache)."""
    build: dict[str, Any] = {"seed": resolved["seed"],
                             **{group: resolved[group] for group in BUILD_GROUPS}}
    build["data"] = {**build["data"], "source": "parquet",        # read the folder, never rewrite
                     "path": str(Path(data.dataset.path).resolve())}
    features = dict(build["features"])
    snapshots = dict(features.get("snapshots") or {})
    if snapshots.get("table"):
        snapshots["table"] = str(Path(snapshots["table"]).resolve())
        features["snapshots"] = snapshots
    build["features"] = features
    engine = dict(build["engine"])
    if engine.get("feature_cache_dir"):
        engine["feature_cache_dir"] = str(Path(engine["feature_cache_dir"]).resolve())
    build["engine"] = engine
    splits = matrix["split"].astype(str)
    return {
        "fingerprint": matrix_fingerprint(matrix),
        "logged": logged,
        "rows": len(matrix),
        "rows_by_split": {name: int(count) for name, count in splits.value_counts().sort_index()
                          .items()},
        "columns": {name: str(dtype) for name, dtype in matrix.dtypes.items()},
        "data": {"path": build["data"]["path"], "source": data.dataset.manifest.source,
                 "combined_sha256": data.fingerprint["combined_sha256"]},
        "feature_cache": str(data.feature_cache.resolve()) if data.feature_cache else None,
        "build": build,
    }


def log_training_rows(
    data: TrainingData, resolved: dict[str, Any], log_matrix: bool, scratch: Path
) -> None:
    """The training rows' fingerprint, schema and how to rebuild them, always, to the active run;
    the rows themselves (customer ids, attributes, labels) only when ``mlflow.log_feature_matrix``
    asks."""
    matrix = training_matrix(data)
    mlflow.log_dict(matrix_reference(data, matrix, resolved, logged=log_matrix),
                    MATRIX_REFERENCE_ARTIFACT)
    if log_matrix:
        path = scratch / Path(FEATURE_MATRIX_ARTIFACT).name
        matrix.to_parquet(path, index=False, compression="zstd")
        mlflow.log_artifact(str(path), str(Path(FEATURE_MATRIX_ARTIFACT).parent))


def rebuild_matrix(reference: dict[str, Any], where: str) -> pd.DataFrame:
    """The matrix rebuilt from the events as the run built it, refused unless the data and the
    rows are the ones the run saw (same fingerprints)."""
    data_path = Path(reference["data"]["path"])
    if not data_path.is_dir():
        raise TrainingRowsError(
            f"{where}: the data set it was trained on, {data_path}, is gone, so its training rows "
            f"cannot be rebuilt; restore the data set there, or {_HOW_TO_GET_ROWS}"
        )
    logger.info("%s logged no feature matrix: rebuilding it from %s", where, data_path)
    try:
        # A run logged before the engine group existed rebuilds without the cache.
        build = {"engine": {"chunk_customers": 10_000, "feature_cache_dir": None},
                 **reference["build"]}
        data = assemble_training_data(settings_from(TrainingDataSettings, build))
    except Exception as error:
        raise TrainingRowsError(
            f"{where}: rebuilding its training rows from {data_path} failed ({error}); "
            f"{_HOW_TO_GET_ROWS}"
        ) from error
    expected_data = reference["data"]["combined_sha256"]
    if data.fingerprint["combined_sha256"] != expected_data:
        raise TrainingRowsError(
            f"{where}: the data set at {data_path} changed since training (fingerprint "
            f"{data.fingerprint['combined_sha256'][:12]}…, the run saw {expected_data[:12]}…), "
            f"so its training rows cannot be rebuilt; restore that data set, or {_HOW_TO_GET_ROWS}"
        )
    matrix = training_matrix(data)
    found, expected = matrix_fingerprint(matrix), reference["fingerprint"]
    if found != expected:
        raise TrainingRowsError(
            f"{where}: the rebuilt training rows differ from the ones it trained on (fingerprint "
            f"{found[:12]}… against {expected[:12]}…; {len(matrix):,} rows against "
            f"{reference['rows']:,}): the code building features, labels or splits changed "
            f"since; {_HOW_TO_GET_ROWS}"
        )
    return matrix


def training_rows_file(client: MlflowClient, run_id: str, scratch: Path) -> Path:
    """A Parquet file of the run's training rows (customer_id, as_of, features, is_bad, split):
    the matrix it logged, else the one rebuilt from its reference, written under ``scratch``."""
    where = f"training run {run_id}"
    logged = {item.path for item in client.list_artifacts(run_id, "features")}
    if FEATURE_MATRIX_ARTIFACT in logged:
        return Path(client.download_artifacts(run_id, FEATURE_MATRIX_ARTIFACT, str(scratch)))
    if MATRIX_REFERENCE_ARTIFACT not in logged:
        raise TrainingRowsError(
            f"{where} logged neither {FEATURE_MATRIX_ARTIFACT} nor {MATRIX_REFERENCE_ARTIFACT}, "
            f"so its training rows cannot be got back; {_HOW_TO_GET_ROWS}"
        )
    reference = json.loads(Path(client.download_artifacts(
        run_id, MATRIX_REFERENCE_ARTIFACT, str(scratch))).read_text())
    matrix = rebuild_matrix(reference, where)
    key = hashlib.sha256(f"{run_id}{reference['fingerprint']}".encode()).hexdigest()[:16]
    path = scratch / f"rebuilt_feature_matrix_{key}.parquet"
    matrix.to_parquet(path, index=False, compression="zstd")
    return path
