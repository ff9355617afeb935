"""Fixtures of the Dask engine's tests: a portfolio in several customer partitions and one local
cluster for the whole session (starting one takes seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import compose_once

PARTITIONED_PORTFOLIO = [
    "data.simulator.n_customers=1500",
    "data.simulator.chunk_size=500",
]
"""1,500 customers written in three customer partitions of 500."""


@pytest.fixture(scope="session")
def partitioned_portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from credit_models.config.settings import to_settings
    from credit_models.jobs.data import run_data_job

    path = tmp_path_factory.mktemp("partitioned_portfolio") / "portfolio"
    config = compose_once("data_job", ["action=generate", "show_progress=false",
                                       *PARTITIONED_PORTFOLIO, f"data.path={path}"])
    assert run_data_job(to_settings(config)) == 0
    return path


@pytest.fixture(scope="session")
def dask_scheduler() -> Iterator[str]:
    """The address of a two-worker local cluster shared by the session's Dask tests."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", memory_limit="2GiB") as cluster:
        yield cluster.scheduler_address


def assert_one_part_file_per_partition(output: Path, partitions: int = 3) -> str:
    """``output`` holds one non-empty Parquet part file per customer partition and the
    toolkit's marker, nothing else; returns the marker's writer."""
    import pyarrow.parquet as pq

    from credit_models.data.folders import PARTS_MARKER_NAME, read_marker

    parts = sorted(path.name for path in output.glob("*.parquet"))
    assert parts == [f"part-{index:05d}.parquet" for index in range(partitions)]
    assert sorted(path.name for path in output.iterdir()) == sorted([*parts, PARTS_MARKER_NAME])
    assert all(pq.read_metadata(output / name).num_rows > 0 for name in parts)
    return read_marker(output, PARTS_MARKER_NAME).writer
