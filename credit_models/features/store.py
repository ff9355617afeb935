"""A cache of feature matrices keyed by what determines them: the spec, the data and the snapshots.

Re-running a job with the same inputs reads the matrix back instead of recomputing it. Each entry
holds the matrix (Parquet), the spec it was built from, the feature descriptions and the data
fingerprint, so an entry explains itself. Entries are written to a temporary folder and renamed,
so an interrupted run never leaves a half-written entry behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from credit_models import __version__
from credit_models.data.fingerprint import table_digest
from credit_models.data.io import replace_folder
from credit_models.features.engine import FeatureMatrix

logger = logging.getLogger(__name__)

MATRIX_FILE = "features.parquet"
META_FILE = "feature_matrix.json"


def cache_key(raw_spec: Mapping[str, Any], fingerprint: Mapping[str, Any],
              snapshots: pd.DataFrame) -> str:
    """Changes whenever the spec, the data, the snapshots or the package version change."""
    payload = json.dumps(
        {"spec": raw_spec, "data": fingerprint.get("combined_sha256"),
         "snapshots": table_digest(snapshots[["customer_id", "as_of"]]), "version": __version__},
        sort_keys=True, default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def write_matrix(folder: Path, matrix: FeatureMatrix, meta: Mapping[str, Any]) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        matrix.frame.to_parquet(staging / MATRIX_FILE, index=False, compression="zstd")
        (staging / META_FILE).write_text(json.dumps(
            {**meta, "descriptions": matrix.descriptions}, indent=2, ensure_ascii=False,
            default=str,
        ))
        replace_folder(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_matrix(folder: Path) -> FeatureMatrix:
    meta = json.loads((folder / META_FILE).read_text())
    return FeatureMatrix(frame=pd.read_parquet(folder / MATRIX_FILE),
                         descriptions=meta["descriptions"])


def cached_features(
    cache_dir: Path | None,
    raw_spec: Mapping[str, Any],
    fingerprint: Mapping[str, Any],
    snapshots: pd.DataFrame,
    build: Callable[[], FeatureMatrix],
) -> tuple[FeatureMatrix, Path | None]:
    """The matrix for these inputs: from the cache when present, else built and stored."""
    if cache_dir is None:
        return build(), None
    folder = cache_dir / cache_key(raw_spec, fingerprint, snapshots)
    if (folder / META_FILE).is_file():
        logger.info("reusing the feature matrix cached in %s", folder)
        return read_matrix(folder), folder
    matrix = build()
    write_matrix(folder, matrix, {"spec": raw_spec, "data_fingerprint": fingerprint,
                                  "rows": len(matrix.frame), "package_version": __version__})
    logger.info("feature matrix cached in %s", folder)
    return matrix, folder
