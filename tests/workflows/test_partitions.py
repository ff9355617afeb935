"""Customer partitions: discovered from listings and footers, read one at a time as
read_tables reads the whole, checked on the cluster, and rewritten by `repartition`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from credit_models.config.settings import to_settings
from credit_models.data.contract import TABLES
from credit_models.data.folders import MARKER_NAME, read_marker
from credit_models.data.io import read_manifest, read_tables, write_tables
from credit_models.errors import ConfigError, DatasetReadError, OutputFolderError
from credit_models.jobs.data import run_data_job
from credit_models.workflows.distributed.partitions import (
    check_customer_partitioning,
    open_partitioned_dataset,
    repartition_dataset,
)

PARTS = ["part-00000", "part-00001", "part-00002"]


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    """Threads, not processes: the cluster starts in about 0.1 s instead of 2.5 s here, and its
    workers see this process's memory:// file system. The job's test starts process workers."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        yield client


def _copy(source: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(source, tmp_path / "copy"))


def _sorted(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    return frame.sort_values(TABLES[table].key, kind="stable", ignore_index=True)


def _assert_same_rows(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    assert list(left) == list(right)
    for table, frame in left.items():
        pd.testing.assert_frame_equal(_sorted(frame, table), _sorted(right[table], table))


def test_discovery_reads_listings_and_footers(partitioned_portfolio):
    partitions = open_partitioned_dataset(str(partitioned_portfolio))
    assert partitions.names == PARTS and partitions.n_partitions == 3
    assert partitions.manifest == read_manifest(partitioned_portfolio)
    assert set(partitions.files) == {"customers", "orders", "bills", "repayments",
                                     "limit_events", "declines"}
    assert all(list(parts) == PARTS for parts in partitions.files.values())
    assert len(partitions.table_bytes) == 3 and min(partitions.table_bytes) > 100_000


def test_a_partition_holds_the_rows_read_tables_gives_its_customers(partitioned_portfolio,
                                                                     tmp_path):
    root = _copy(partitioned_portfolio, tmp_path)
    (root / "declines" / "part-00002.parquet").unlink()      # no declines in the last part
    whole = read_tables(root)
    partitions = open_partitioned_dataset(str(root))
    assert "part-00002" not in partitions.files["declines"]
    for name in partitions.names:
        part = partitions.read_partition(name)
        ids = part["customers"]["customer_id"]
        expected = {table: frame[frame["customer_id"].isin(ids)].reset_index(drop=True)
                    for table, frame in whole.items()}
        _assert_same_rows(part, expected)
    empty = partitions.read_partition("part-00002")["declines"]
    assert empty.empty and dict(empty.dtypes) == dict(whole["declines"].dtypes)


def test_single_files_are_one_partition_named_after_the_data_set(partitioned_portfolio,
                                                                tmp_path):
    whole = read_tables(partitioned_portfolio)
    root = write_tables(whole, tmp_path / "flat", read_manifest(partitioned_portfolio))
    partitions = open_partitioned_dataset(str(root))
    assert partitions.names == ["flat"]
    _assert_same_rows(partitions.read_partition("flat"), whole)


@pytest.mark.parametrize(("change", "message"), [
    ("mixed", "declines stored as a single file while"),
    ("stray", "part-00009"),
    ("readme", "not Parquet part files"),
    ("manifest", "has no manifest.json"),
])
def test_discovery_refuses_what_it_cannot_partition(partitioned_portfolio, tmp_path, change,
                                                   message):
    root = _copy(partitioned_portfolio, tmp_path)
    if change == "mixed":
        declines = pd.read_parquet(root / "declines")
        shutil.rmtree(root / "declines")
        declines.to_parquet(root / "declines.parquet", index=False)
    elif change == "stray":
        (root / "orders" / "part-00002.parquet").rename(root / "orders" / "part-00009.parquet")
    elif change == "readme":
        (root / "orders" / "readme.txt").write_text("exported monthly")
    else:
        (root / "manifest.json").unlink()
    with pytest.raises(DatasetReadError, match=message):
        open_partitioned_dataset(str(root))
    with pytest.raises(DatasetReadError, match="does not exist"):
        open_partitioned_dataset(str(tmp_path / "absent"))


def _straddled(source: Path, tmp_path: Path) -> tuple[Path, int]:
    """A copy whose orders of one customer of part 0 were moved into part 1."""
    root = _copy(source, tmp_path)
    first, second = (root / "orders" / f"{name}.parquet" for name in PARTS[:2])
    orders, others = pd.read_parquet(first), pd.read_parquet(second)
    customer = int(orders["customer_id"].iloc[0])
    moved = orders["customer_id"] == customer
    pd.concat([others, orders[moved]], ignore_index=True).to_parquet(second, index=False)
    orders[~moved].to_parquet(first, index=False)
    return root, customer


def test_the_check_passes_a_partitioned_data_set(client, partitioned_portfolio):
    check_customer_partitioning(client, open_partitioned_dataset(str(partitioned_portfolio)))


def test_the_check_names_customers_that_straddle_partitions(client, partitioned_portfolio,
                                                            tmp_path):
    root, customer = _straddled(partitioned_portfolio, tmp_path)
    customers = root / "customers" / "part-00002.parquet"
    first = pd.read_parquet(root / "customers" / "part-00000.parquet")
    pd.concat([pd.read_parquet(customers), first.iloc[[5]]]).to_parquet(customers, index=False)
    with pytest.raises(DatasetReadError) as error:
        check_customer_partitioning(client, open_partitioned_dataset(str(root)))
    message = str(error.value)
    assert (f"orders: 1 customer(s) have rows in a part file that is not their customers "
            f"partition (orders/part-00001.parquet), e.g. customer_id {customer} (of "
            "part-00000)") in message
    assert (f"customers: 1 customer(s) are in more than one partition (customers/part-00000"
            f".parquet, customers/part-00002.parquet), e.g. customer_id "
            f"{int(first['customer_id'].iloc[5])}") in message
    assert (f"credit-models-data repartition repartition.source={root} "
            "repartition.output=<folder> repartition.partitions=3") in message


def test_repartition_keeps_every_row_in_customer_ranges(client, partitioned_portfolio,
                                                        tmp_path):
    source, _ = _straddled(partitioned_portfolio, tmp_path)
    target = repartition_dataset(client, str(source), tmp_path / "out", 4)
    partitions = open_partitioned_dataset(str(target))
    assert partitions.names == [f"part-{index:05d}" for index in range(4)]
    assert all(list(parts) == partitions.names for parts in partitions.files.values())
    check_customer_partitioning(client, partitions)
    _assert_same_rows(read_tables(target), read_tables(source))
    counts = [len(partitions.read_partition(name)["customers"]) for name in partitions.names]
    assert max(counts) - min(counts) <= 0.1 * max(counts), counts   # similar sizes
    assert read_manifest(target) == read_manifest(source)
    assert read_marker(target).writer == "repartition"
    # run again: its own folder is replaced; nothing is left beside it
    repartition_dataset(client, str(source), target, 3)
    assert open_partitioned_dataset(str(target)).n_partitions == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == ["copy", "out"]


def test_repartition_refuses_a_folder_it_did_not_write(client, partitioned_portfolio,
                                                       tmp_path):
    target = tmp_path / "exports"
    target.mkdir()
    (target / "budget.xlsx").write_bytes(b"not ours")
    with pytest.raises(OutputFolderError, match="budget.xlsx"):
        repartition_dataset(client, str(partitioned_portfolio), target, 2)
    assert [path.name for path in tmp_path.rglob("*")] == ["exports", "budget.xlsx"]
    with pytest.raises(OutputFolderError, match="is the source data set"):
        repartition_dataset(client, str(partitioned_portfolio), partitioned_portfolio, 2)
    assert (partitioned_portfolio / MARKER_NAME).is_file()


def test_partitions_are_read_through_fsspec_urls(client, partitioned_portfolio):
    import fsspec

    memory = fsspec.filesystem("memory")
    memory.put(str(partitioned_portfolio), "/portfolio", recursive=True)
    try:
        partitions = open_partitioned_dataset("memory://portfolio")
        assert partitions.names == PARTS
        url = partitions.files["orders"]["part-00001"]
        assert url.startswith("memory://") and url.endswith("/portfolio/orders/part-00001.parquet")
        check_customer_partitioning(client, partitions)
        local = open_partitioned_dataset(str(partitioned_portfolio))
        _assert_same_rows(partitions.read_partition("part-00001"),
                          local.read_partition("part-00001"))
        assert partitions.table_bytes == local.table_bytes
    finally:
        memory.rm("/portfolio", recursive=True)


def test_the_data_job_repartitions_on_a_local_cluster(compose_config, partitioned_portfolio,
                                                      tmp_path, capsys):
    output = tmp_path / "partitioned"
    overrides = ["action=repartition", f"repartition.source={partitioned_portfolio}",
                 f"repartition.output={output}", "repartition.partitions=2",
                 "engine.n_workers=1", "engine.memory_limit=1GiB"]
    assert run_data_job(to_settings(compose_config("data_job", overrides))) == 0
    assert f"2 customer partitions written to {output}" in capsys.readouterr().out
    marker = json.loads((output / MARKER_NAME).read_text())
    assert marker["settings"]["partitions"] == 2
    with pytest.raises(ConfigError, match="repartition.source and repartition.output are required"):
        to_settings(compose_config("data_job", ["action=repartition"]))
    with pytest.raises(ConfigError, match="repartition.partitions must be >= 1; got 0"):
        to_settings(compose_config("data_job", [*overrides[:3], "repartition.partitions=0"]))
