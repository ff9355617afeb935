"""A training run's feature matrix, got back without the run having to store customers' rows.

By default a PD run logs no rows (``mlflow.log_feature_matrix: false``): it logs
``features/matrix_reference.json`` instead — the matrix's fingerprint (a content hash), its schema
(columns, dtypes, rows per split) and how it was built (the data set's absolute path and
fingerprint, the feature spec and snapshots, the label and split settings, the seed, the local
feature cache). Compare, monitor and explain read what a run logged of its rows through
:func:`logged_training_rows` alone: the logged matrix when the run has one, else the reference,
else an error saying how to get the rows; the rebuild from the reference (the feature cache entry
is reused when it is still there, the result checked against the fingerprint) is
:func:`credit_models.workflows.training_rows.training_rows_file`'s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient

from credit_models.data.fingerprint import frame_fingerprint
from credit_models.workflows.training_data import TrainingData
from credit_models.workflows.training_rows import LoggedTrainingRows, TrainingRowsError

__all__ = ["FEATURE_MATRIX_ARTIFACT", "MATRIX_REFERENCE_ARTIFACT", "LoggedTrainingRows",
           "TrainingRowsError", "log_training_rows", "logged_training_rows", "matrix_reference"]

FEATURE_MATRIX_ARTIFACT = "features/feature_matrix.parquet"
"""The training run's feature matrix, logged only on request: customer_id, as_of, the features,
is_bad, split."""
MATRIX_REFERENCE_ARTIFACT = "features/matrix_reference.json"
"""Always logged: the matrix's fingerprint and schema and what rebuilds it (no rows)."""
BUILD_GROUPS = ("data", "features", "engine", "labels", "split")
"""The config groups (with ``seed``) that determine the matrix's rows, columns and splits."""


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
        "fingerprint": frame_fingerprint(matrix),
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
    matrix = data.matrix
    mlflow.log_dict(matrix_reference(data, matrix, resolved, logged=log_matrix),
                    MATRIX_REFERENCE_ARTIFACT)
    if log_matrix:
        path = scratch / Path(FEATURE_MATRIX_ARTIFACT).name
        matrix.to_parquet(path, index=False, compression="zstd")
        mlflow.log_artifact(str(path), str(Path(FEATURE_MATRIX_ARTIFACT).parent))


def logged_training_rows(client: MlflowClient, run_id: str, scratch: Path) -> LoggedTrainingRows:
    """What the run logged of its training rows, downloaded under ``scratch``: the matrix when it
    logged one, else its matrix reference."""
    where = f"training run {run_id}"
    logged = {item.path for item in client.list_artifacts(run_id, "features")}
    if FEATURE_MATRIX_ARTIFACT in logged:
        return LoggedTrainingRows(run_id, scratch, matrix_file=Path(
            client.download_artifacts(run_id, FEATURE_MATRIX_ARTIFACT, str(scratch))))
    if MATRIX_REFERENCE_ARTIFACT not in logged:
        raise TrainingRowsError(
            f"{where} logged neither {FEATURE_MATRIX_ARTIFACT} nor {MATRIX_REFERENCE_ARTIFACT}, "
            f"so its training rows cannot be got back; {TrainingRowsError.HOW_TO_GET_ROWS}"
        )
    reference = json.loads(Path(client.download_artifacts(
        run_id, MATRIX_REFERENCE_ARTIFACT, str(scratch))).read_text())
    return LoggedTrainingRows(run_id, scratch, reference=reference)
