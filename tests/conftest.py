"""Settings every test shares."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from credit_models.tracking.store import CACHE_DIR_VARIABLE

# Property tests keep no example database, and Hypothesis's cache of constants goes to a temporary
# folder: both would otherwise be a `.hypothesis/` folder in the checkout (its default is fixed
# when Hypothesis is imported, before any fixture runs).
settings.register_profile("credit_models", database=None)
settings.load_profile("credit_models")
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="credit_models_hypothesis_"))


@pytest.fixture(scope="session", autouse=True)
def outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test runs from a temporary working directory, so that whatever a job writes relative
    to it by default (`mlflow.db`, `mlruns/`, `data/cache/`, Hydra's `outputs/`) never lands in
    the repository tree."""
    previous = os.getcwd()
    working = tmp_path_factory.mktemp("cwd")
    os.chdir(working)
    yield
    os.chdir(previous)


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
