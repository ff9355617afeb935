"""Settings every test shares."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from credit_models.tracking.store import CACHE_DIR_VARIABLE


@pytest.fixture(scope="session", autouse=True)
def mlflow_schema_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """New MLflow stores are copied from a schema template built once per session, in a
    temporary folder rather than the user's cache."""
    previous = os.environ.get(CACHE_DIR_VARIABLE)
    os.environ[CACHE_DIR_VARIABLE] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop(CACHE_DIR_VARIABLE, None)
    else:
        os.environ[CACHE_DIR_VARIABLE] = previous
