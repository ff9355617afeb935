"""Fitted feature selectors cached beside the feature matrix they were fitted on.

Selection bins every feature (optimal binning for IV and PSI): on the default portfolio it is the
slowest step before the model. Its result depends only on the matrix, the rows and labels it was
fitted on, the rows it compared with, its settings and the excluded features, so a second run
that changes only the model (its parameters, the calibration, the seed of a tuning trial) reads
the fitted selector back instead. An entry is written to a temporary file and renamed: an
interrupted run never leaves a half-written one, and a damaged one is refitted, not trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import joblib
import pandas as pd

from credit_models import __version__
from credit_models.features.selection import FeatureSelector

logger = logging.getLogger(__name__)

SELECTION_FOLDER = "selection"
"""Sub-folder of a feature-matrix cache entry that holds its fitted selectors."""


def selection_key(selector: FeatureSelector, fitted_on: pd.Series, compared: pd.Series,
                  excluded: Mapping[str, str]) -> str:
    """Changes whenever the selector's settings, the rows and labels it is fitted on (``fitted_on``:
    the development rows' bad flags, indexed by matrix row), the rows it compares with, the
    excluded features or the package version change."""
    rows = hashlib.sha256()
    for series in (fitted_on, compared):
        rows.update(pd.util.hash_pandas_object(series, index=True).to_numpy().tobytes())
    payload = json.dumps({"params": repr(sorted(selector.get_params(deep=True).items())),
                          "rows": rows.hexdigest(), "excluded": dict(sorted(excluded.items())),
                          "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def cached_selection(
    matrix_folder: Path | None, key: str, fit: Callable[[], FeatureSelector]
) -> FeatureSelector:
    """The fitted selector of ``key`` from the matrix's cache entry when present, else
    ``fit()``, stored there (no cache entry, no caching)."""
    if matrix_folder is None:
        return fit()
    path = Path(matrix_folder) / SELECTION_FOLDER / f"{key}.joblib"
    if path.is_file():
        try:
            selector = joblib.load(path)
        except Exception as error:      # a damaged entry costs a refit, never a wrong answer
            logger.warning("the cached feature selection %s could not be read (%s): refitting",
                           path, error)
        else:
            if isinstance(selector, FeatureSelector):
                logger.info("reusing the feature selection cached in %s", path)
                return selector
    selector = fit()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        joblib.dump(selector, temporary, compress=3)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    logger.info("feature selection cached in %s", path)
    return selector
