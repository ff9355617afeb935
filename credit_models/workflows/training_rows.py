"""A training run's rows got back from what the store holds: the feature matrix the run logged,
else the matrix rebuilt from its reference (``features/matrix_reference.json``: the data set's
path and fingerprint, the build settings, the matrix's fingerprint) and checked against it.

The store is read by :mod:`credit_models.tracking.training_rows`, which hands over a
:class:`LoggedTrainingRows`; the rebuild is a training-data build, so it is done here.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from credit_models.data.fingerprint import frame_fingerprint
from credit_models.workflows.settings import TrainingDataSettings
from credit_models.workflows.structured import settings_from
from credit_models.workflows.training_data import assemble_training_data

logger = logging.getLogger(__name__)


class TrainingRowsError(LookupError):
    """A run's training rows cannot be got back; the message says why and how to get them."""

    HOW_TO_GET_ROWS = (
        "train with mlflow.log_feature_matrix=true to log the rows with the run, or give rows of "
        "your own (credit-models-compare data.path=…, credit-models-explain feature_matrix=… or "
        "source=data)"
    )


HOW_TO_GET_ROWS = TrainingRowsError.HOW_TO_GET_ROWS


@dataclass(frozen=True)
class LoggedTrainingRows:
    """What a training run logged of its rows: the matrix's file when it logged the rows, else
    its matrix reference (exactly one is set)."""

    run_id: str
    scratch: Path
    """Where the logged files were downloaded; a rebuilt matrix is written there too."""
    matrix_file: Path | None = None
    reference: dict[str, Any] | None = None

    @property
    def where(self) -> str:
        return f"training run {self.run_id}"


def logged_split(split: dict[str, Any]) -> dict[str, Any]:
    """A logged split config as today's settings read it: an out-of-time split logged before
    ``holdout`` existed held validation and calibration out by months, the only layout then."""
    if split.get("kind", "out_of_time") == "out_of_time" and "holdout" not in split:
        return {**split, "holdout": "months"}
    return split


def rebuild_matrix(reference: dict[str, Any], where: str) -> pd.DataFrame:
    """The matrix rebuilt from the events as the run built it, refused unless the data and the
    rows are the ones the run saw (same fingerprints)."""
    data_path = Path(reference["data"]["path"])
    if not data_path.is_dir():
        raise TrainingRowsError(
            f"{where}: the data set it was trained on, {data_path}, is gone, so its training rows "
            f"cannot be rebuilt; restore the data set there, or {HOW_TO_GET_ROWS}"
        )
    logger.info("%s logged no feature matrix: rebuilding it from %s", where, data_path)
    try:
        # A run logged before the engine group existed rebuilds without the cache.
        build = {"engine": {"chunk_customers": 10_000, "feature_cache_dir": None},
                 **reference["build"]}
        build["split"] = logged_split(build["split"])
        data = assemble_training_data(settings_from(TrainingDataSettings, build))
    except Exception as error:
        raise TrainingRowsError(
            f"{where}: rebuilding its training rows from {data_path} failed ({error}); "
            f"{HOW_TO_GET_ROWS}"
        ) from error
    expected_data = reference["data"]["combined_sha256"]
    if data.fingerprint["combined_sha256"] != expected_data:
        raise TrainingRowsError(
            f"{where}: the data set at {data_path} changed since training (fingerprint "
            f"{data.fingerprint['combined_sha256'][:12]}…, the run saw {expected_data[:12]}…), "
            f"so its training rows cannot be rebuilt; restore that data set, or {HOW_TO_GET_ROWS}"
        )
    matrix = data.matrix
    found, expected = frame_fingerprint(matrix), reference["fingerprint"]
    if found != expected:
        raise TrainingRowsError(
            f"{where}: the rebuilt training rows differ from the ones it trained on (fingerprint "
            f"{found[:12]}… against {expected[:12]}…; {len(matrix):,} rows against "
            f"{reference['rows']:,}): the code building features, labels or splits changed "
            f"since; {HOW_TO_GET_ROWS}"
        )
    return matrix


def training_rows_file(logged: LoggedTrainingRows) -> Path:
    """A Parquet file of the run's training rows (customer_id, as_of, features, is_bad, split):
    the matrix it logged, else the one rebuilt from its reference, written to its scratch
    folder."""
    if logged.matrix_file is not None:
        return logged.matrix_file
    reference = logged.reference
    if reference is None:
        raise TrainingRowsError(f"{logged.where} logged neither its feature matrix nor its "
                                f"reference; {HOW_TO_GET_ROWS}")
    matrix = rebuild_matrix(reference, logged.where)
    key = hashlib.sha256(f"{logged.run_id}{reference['fingerprint']}".encode()).hexdigest()[:16]
    path = logged.scratch / f"rebuilt_feature_matrix_{key}.parquet"
    matrix.to_parquet(path, index=False, compression="zstd")
    return path
