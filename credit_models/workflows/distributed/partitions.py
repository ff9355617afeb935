"""A data set read as customer partitions: the unit of work of the Dask engine.

A partitioned data set stores every table as a folder of part files with the same names
(``customers/part-00000.parquet``, ``orders/part-00000.parquet``, ...), and part ``P`` of every
table holds the rows of exactly the customers in ``customers/P``: a customer's history is then
whole inside one partition, so each partition is computed alone. The simulator writes data sets
this way; :func:`repartition_dataset` rewrites any other one (``credit-models-data
repartition``). The root is a local folder or any fsspec URL (``s3://``, ``hdfs://``, ``abfs://``
with their fsspec package installed).

Discovery (:func:`open_partitioned_dataset`) lists folders and reads Parquet footers only;
:func:`check_customer_partitioning` reads the ``customer_id`` columns on the cluster; neither holds
a table in one process.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from credit_models.data.contract import TABLES
from credit_models.data.folders import (
    describe_names,
    ensure_replaceable,
    replace_folder,
    staging_folder,
    write_marker,
)
from credit_models.data.io import (
    MANIFEST_NAME,
    REWRITE_FIX,
    DatasetManifest,
    complete_tables,
    dataset_foreign_entries,
    read_manifest,
    write_manifest,
)
from credit_models.errors import ConfigError, DatasetReadError, OutputFolderError

if TYPE_CHECKING:
    from distributed import Client
    from fsspec import AbstractFileSystem

CUSTOMERS = "customers"
CUSTOMER_ID = "customer_id"
REPARTITION_WRITER = "repartition"
EXAMPLE_IDS = 5
"""Customer ids an error shows."""
FOOTER_THREADS = 16
"""Footers read side by side: on object stores each is a round trip."""
SAMPLE_POINTS = 2_000_000
"""Customer ids sampled in all to cut the partitions (spread over the customers files)."""


@dataclass
class RepartitionSettings:
    """``credit-models-data repartition`` (``repartition.*`` in conf/data_job.yaml)."""

    source: str | None = None
    """The data set to rewrite: a local folder or an fsspec URL; any layout."""
    output: str | None = None
    """The folder written: absent, empty, or written by the toolkit before (then replaced). The
    workers write into it, so on a remote cluster it must be on a file system they share."""
    partitions: int = 8
    """Customer partitions written; size them so that a worker holds a few at a time."""

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ConfigError(f"repartition.partitions must be >= 1; got {self.partitions}")

    def require_paths(self) -> None:
        """The action needs both folders (the other actions leave them empty)."""
        missing = [key for key in ("source", "output") if not getattr(self, key)]
        if missing:
            raise ConfigError(
                f"repartition.{' and repartition.'.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} required: "
                "credit-models-data repartition repartition.source=<data set> "
                "repartition.output=<new folder> repartition.partitions=<n>")


@dataclass(frozen=True)
class CustomerPartitions:
    """A data set's customer partitions as discovered: where each table's part of each lies, and
    how large it is in memory, before any row is read."""

    root: str
    """As given: a local folder or an fsspec URL."""
    manifest: DatasetManifest
    names: list[str]
    """Partition names (``part-00000``, ...), sorted; the data set's name when every table is a
    single file (one partition)."""
    files: dict[str, dict[str, str]]
    """Table -> partition name -> file; a table may lack a partition holding none of its rows."""
    table_bytes: list[int]
    """Per partition (in ``names`` order): in-memory bytes of all its tables, estimated from the
    Parquet footers' uncompressed sizes."""

    @property
    def n_partitions(self) -> int:
        return len(self.names)

    def read_partition(self, name: str) -> dict[str, pd.DataFrame]:
        """Every contract table's rows of one partition, completed as
        :func:`~credit_models.data.io.read_tables` completes a whole data set."""
        if name not in self.names:
            raise KeyError(f"{self.root} has no partition {name!r}; it has "
                           f"{describe_names(self.names)}")
        tables = {}
        for table, parts in self.files.items():
            if name in parts:
                tables[table] = _read_parquet(parts[name], table)
            else:       # no rows of this table in the partition: its schema, empty
                tables[table] = _empty_like(next(iter(parts.values())), table)
        return complete_tables(tables)


def open_partitioned_dataset(root: str) -> CustomerPartitions:
    """The customer partitions of the data set at ``root``, from listings and Parquet footers
    only. Raises :class:`DatasetReadError` for a missing folder or manifest, a table stored as a
    single file beside part folders, a part file of a table that ``customers`` has no part of
    the same name, or an entry of a part folder that is not a Parquet file."""
    layout = _discover(root)
    if CUSTOMERS not in layout.tables:
        raise DatasetReadError(
            f"data set {root} has no customers table: a partitioned data set needs "
            "customers/part-*.parquet, whose part files name the partitions")
    singles = sorted(table for table, kind in layout.kinds.items() if kind == "file")
    if singles and len(singles) < len(layout.tables):
        folders = sorted(set(layout.tables) - set(singles))
        raise DatasetReadError(
            f"data set {root} mixes layouts: {', '.join(singles)} stored as a single file while "
            f"{', '.join(folders)} are part folders, so the rows of one customer partition "
            f"cannot be found in every table. {_repartition_fix(root)}")
    if singles:
        name = PurePosixPath(layout.path).name or "dataset"
        files = {table: {name: urls[0]} for table, urls in layout.tables.items()}
        names = [name]
    else:
        files = {table: {_part_name(url): url for url in urls}
                 for table, urls in layout.tables.items()}
        names = sorted(files[CUSTOMERS])
        for table, parts in files.items():
            strays = sorted(set(parts) - set(names))
            if strays:
                raise DatasetReadError(
                    f"table {table!r} of {root} has part file(s) that customers has no part of "
                    f"the same name ({describe_names(_short(parts[n]) for n in strays)}): part P "
                    "of every table must hold the rows of the customers in customers/P. "
                    f"{_repartition_fix(root)}")
    footers = _footers([url for parts in files.values() for url in parts.values()])
    table_bytes = [sum(footers[parts[name]].uncompressed_bytes
                       for parts in files.values() if name in parts) for name in names]
    return CustomerPartitions(root=root, manifest=layout.manifest, names=names, files=files,
                              table_bytes=table_bytes)


def check_customer_partitioning(client: Client, partitions: CustomerPartitions) -> None:
    """Check on the cluster, one small task per partition reading only ``customer_id`` columns,
    that no customer is in two partitions and that every table's rows in partition P are of
    customers of P; otherwise a :class:`DatasetReadError` names each table, its part files, how
    many customers straddle, a few of them, and the repartition command that fixes it."""
    if partitions.n_partitions < 2:
        return          # one partition: nothing can straddle
    customers = partitions.files[CUSTOMERS]
    events = {table: parts for table, parts in partitions.files.items() if table != CUSTOMERS}
    futures = [client.submit(_partition_summary, customers[name],
                             {table: parts[name] for table, parts in events.items()
                              if name in parts}, pure=False)
               for name in partitions.names]
    summaries: list[_Summary] = client.gather(futures)
    problems = _shared_customers(client, partitions, summaries)
    for table in events:
        foreign = [(name, summary.foreign[table]) for name, summary in
                   zip(partitions.names, summaries, strict=True) if table in summary.foreign]
        if foreign:
            problems.append(_straddle_problem(client, partitions, table, foreign))
    if problems:
        raise DatasetReadError(
            f"data set {partitions.root} is not partitioned by customer:\n"
            + "\n".join(f"- {problem}" for problem in problems)
            + "\nEvery table's part P must hold the rows of exactly the customers in "
            f"customers/P, so that each partition can be computed alone. "
            f"{_repartition_fix(partitions.root, partitions.n_partitions)}")


def check_repartition_target(source: str, target: Path | str) -> None:
    """Refuse, before any work, an output that is the source (or inside it, or around it) or a
    folder holding anything the toolkit did not write (:class:`OutputFolderError`)."""
    target = Path(target).absolute()
    if "://" not in source or source.startswith("file://"):
        source_path = Path(source.removeprefix("file://")).absolute()
        if (target == source_path or source_path in target.parents
                or target in source_path.parents):
            raise OutputFolderError(
                f"repartition.output={target} is the source data set {source_path}, inside it or "
                "around it: the source is read while the output is written. Nothing was changed. "
                "Choose a new or empty folder for repartition.output.")
    ensure_replaceable(target, dataset_foreign_entries(), _target_fix(target))


def repartition_dataset(client: Client, source: str, target: Path | str,
                        partitions: int) -> Path:
    """Rewrite the data set at ``source`` (any readable layout) into ``partitions`` customer
    partitions at ``target``: ranges of ``customer_id`` cut at the customers table's quantiles,
    the same part names in every table, every row kept as it is (row counts checked before the
    folder is published), the manifest copied. Dask shuffles the rows, so no process holds a
    whole table; the folder is written beside ``target`` and moved into place when complete.
    ``target`` must be reachable by the workers at the same path (local cluster, shared disk)."""
    import dask
    import dask.dataframe as dd

    if partitions < 1:
        raise ConfigError(f"repartition.partitions must be >= 1; got {partitions}")
    target = Path(target)
    check_repartition_target(source, target)
    layout = _discover(source)
    if CUSTOMERS not in layout.tables:
        raise DatasetReadError(f"data set {source} has no customers table: the partitions are "
                               "ranges of its customer ids")
    footers = _footers([url for urls in layout.tables.values() for url in urls])
    for table, urls in layout.tables.items():
        for url in urls:
            if CUSTOMER_ID not in footers[url].columns:
                raise DatasetReadError(f"table {table!r} file {url} has no {CUSTOMER_ID} column: "
                                       "rows cannot be given to a customer partition")
    divisions = _divisions(client, layout.tables[CUSTOMERS], partitions, source)
    staging = staging_folder(target)
    try:
        with dask.config.set({"dataframe.convert-string": False}):   # dtypes kept as stored
            writes = [_shuffled(dd.read_parquet(urls), table, divisions).to_parquet(
                          str(staging / table), write_index=False, write_metadata_file=False,
                          name_function=_part_file_name, compute=False)
                      for table, urls in layout.tables.items()]
        client.gather(client.compute(writes))
        _check_row_counts(layout.tables, footers, staging, source)
        write_manifest(staging, layout.manifest)
        write_marker(staging, REPARTITION_WRITER, layout.manifest.source,
                     {"source": source, "partitions": partitions,
                      "customer_id_divisions": [int(value) for value in divisions]})
        replace_folder(staging, target, dataset_foreign_entries(), _target_fix(target))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


# ----------------------------------------------------------------------------- discovery


@dataclass(frozen=True)
class _Layout:
    path: str
    """The root as the file system names it (no protocol)."""
    manifest: DatasetManifest
    tables: dict[str, list[str]]
    """Contract table -> its files (one, or the sorted part files)."""
    kinds: dict[str, str]
    """Contract table -> ``file`` or ``folder``."""


@dataclass(frozen=True)
class _Footer:
    columns: list[str]
    rows: int
    uncompressed_bytes: int


def _discover(root: str) -> _Layout:
    """Each contract table's files under ``root``, with the rules of
    :func:`~credit_models.data.io.table_path` (one home per table, part folders hold only
    Parquet files besides hidden ``_``/``.`` entries)."""
    fs, path = _filesystem(root)
    if not fs.isdir(path):
        what = "is a file, not a folder" if fs.isfile(path) else "does not exist"
        raise DatasetReadError(
            f"data set folder {root} {what}: a data set is a folder holding {MANIFEST_NAME} and "
            "one Parquet file or part folder per table (data/README.md, 'Layout of a data set').")
    entries = {PurePosixPath(entry["name"]).name: entry["type"]
               for entry in fs.ls(path, detail=True)}
    if MANIFEST_NAME not in entries:
        raise DatasetReadError(
            f"data set {root} has no {MANIFEST_NAME}: the Dask engine reads a data set with its "
            "manifest (data/README.md, 'Layout of a data set'); write one, or convert the data "
            "set with credit-models-data first.")
    manifest = _read_manifest(fs, path, root)
    tables: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    for table in TABLES:
        homes = []
        for name in (f"{table}.parquet", table):
            kind = entries.get(name)
            if kind == "file":
                homes.append(("file", [_url(fs, f"{path}/{name}")]))
            elif kind == "directory":
                parts = _part_files(fs, f"{path}/{name}", table)
                if parts:
                    homes.append(("folder", parts))
        if len(homes) > 1:
            raise DatasetReadError(
                f"table {table!r} is stored twice in {root}: {table}.parquet and {table}/. Keep "
                "one of them and move the other out of the data set folder.")
        if homes:
            kinds[table], tables[table] = homes[0]
    return _Layout(path=path, manifest=manifest, tables=tables, kinds=kinds)


def _part_files(fs: AbstractFileSystem, folder: str, table: str) -> list[str]:
    entries = [entry for entry in fs.ls(folder, detail=True)
               if not PurePosixPath(entry["name"]).name.startswith(("_", "."))]
    others = [PurePosixPath(entry["name"]).name for entry in entries
              if entry["type"] != "file" or not entry["name"].endswith(".parquet")]
    if others:
        raise DatasetReadError(
            f"part folder {_url(fs, folder)} of table {table!r} holds {len(others)} entr"
            f"{'y' if len(others) == 1 else 'ies'} that are not Parquet part files "
            f"({describe_names(others)}); their rows would not be read. A part folder holds "
            "only <name>.parquet files; move the others out.")
    return sorted(_url(fs, entry["name"]) for entry in entries)


def _read_manifest(fs: AbstractFileSystem, path: str, root: str) -> DatasetManifest:
    """The manifest, checked by :func:`~credit_models.data.io.read_manifest` (a remote one
    through a local copy; the error still names the remote file)."""
    from fsspec.implementations.local import LocalFileSystem

    if isinstance(fs, LocalFileSystem):
        manifest = read_manifest(path)
    else:
        with tempfile.TemporaryDirectory() as folder:
            local = Path(folder) / MANIFEST_NAME
            local.write_bytes(fs.cat_file(f"{path}/{MANIFEST_NAME}"))
            try:
                manifest = read_manifest(folder)
            except DatasetReadError as error:
                raise DatasetReadError(str(error).replace(
                    str(local), f"{root.rstrip('/')}/{MANIFEST_NAME}")) from None
    assert manifest is not None      # its presence was checked by listing
    return manifest


def _footers(urls: Iterable[str]) -> dict[str, _Footer]:
    urls = list(urls)
    with ThreadPoolExecutor(max_workers=min(FOOTER_THREADS, max(len(urls), 1))) as pool:
        return dict(zip(urls, pool.map(_footer, urls), strict=True))


def _footer(url: str) -> _Footer:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fs, path = _filesystem(url)
    try:
        with fs.open(path, "rb") as file:
            metadata = pq.read_metadata(file)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise DatasetReadError(f"cannot read the Parquet footer of {url} ({error}). "
                               f"{REWRITE_FIX}") from error
    return _Footer(
        columns=list(metadata.schema.to_arrow_schema().names), rows=metadata.num_rows,
        uncompressed_bytes=sum(metadata.row_group(index).total_byte_size
                               for index in range(metadata.num_row_groups)))


def _filesystem(url: str) -> tuple[AbstractFileSystem, str]:
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(url)
    return fs, path.rstrip("/") or path


def _url(fs: AbstractFileSystem, path: str) -> str:
    """What a reader opens: the plain path on the local disk, the full URL elsewhere."""
    from fsspec.implementations.local import LocalFileSystem

    return path if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(path)


def _part_name(url: str) -> str:
    return PurePosixPath(url).name.removesuffix(".parquet")


def _short(url: str) -> str:
    """A part file as ``<table folder>/<file>``."""
    return "/".join(PurePosixPath(url).parts[-2:])


def _read_parquet(url: str, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    import pyarrow as pa

    try:
        return pd.read_parquet(url, columns=columns)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise DatasetReadError(f"cannot read table {table!r} from {url} ({error}). "
                               f"{REWRITE_FIX}") from error
    finally:
        # Arrow's allocator keeps freed buffers for reuse: on a worker reading partition after
        # partition that is memory the worker never gets back.
        pa.default_memory_pool().release_unused()


def _empty_like(url: str, table: str) -> pd.DataFrame:
    """No rows, with the columns and dtypes of the table's file ``url`` (read from its footer)."""
    import pyarrow.parquet as pq

    fs, path = _filesystem(url)
    with fs.open(path, "rb") as file:
        schema = pq.read_schema(file)
    return schema.empty_table().to_pandas()


def _repartition_fix(root: str, partitions: int | None = None) -> str:
    count = partitions if partitions and partitions > 1 else "<n>"
    return (f"Rewrite it into customer partitions with `credit-models-data repartition "
            f"repartition.source={root} repartition.output=<folder> "
            f"repartition.partitions={count}`.")


def _target_fix(target: Path) -> str:
    return (f"Set repartition.output to a new or empty folder (or move the entries listed out "
            f"of {target} yourself).")


# ----------------------------------------------------------------- the check, on the cluster


@dataclass(frozen=True)
class _Summary:
    """What a partition's task returns: small, whatever the partition's size."""

    first: int | None
    last: int | None
    customers: int
    foreign: dict[str, tuple[int, list[int]]]
    """Table -> (customers with rows here that are not customers of the partition, a few)."""


def _partition_summary(customers_url: str, events: Mapping[str, str]) -> _Summary:
    ids = np.unique(_read_parquet(customers_url, CUSTOMERS, [CUSTOMER_ID])[CUSTOMER_ID])
    foreign = {}
    for table, url in events.items():
        strangers = np.setdiff1d(_read_parquet(url, table, [CUSTOMER_ID])[CUSTOMER_ID], ids)
        if len(strangers):
            foreign[table] = (len(strangers), [int(value) for value in strangers[:EXAMPLE_IDS]])
    return _Summary(first=int(ids[0]) if len(ids) else None,
                    last=int(ids[-1]) if len(ids) else None, customers=len(ids), foreign=foreign)


def _holders(url: str, examples: list[int]) -> list[int]:
    """Which of ``examples`` are customers of this part."""
    ids = _read_parquet(url, CUSTOMERS, [CUSTOMER_ID])[CUSTOMER_ID]
    return [int(value) for value in np.intersect1d(ids, examples)]


def _shared_customers(client: Client, partitions: CustomerPartitions,
                      summaries: list[_Summary]) -> list[str]:
    """Customers in two partitions. Id ranges that do not overlap (the simulator's, the
    repartitioned) prove there are none at no further cost; only overlapping pairs are
    intersected, on the cluster."""
    spans = sorted((summary.first, summary.last, name) for name, summary
                   in zip(partitions.names, summaries, strict=True) if summary.customers)
    pairs = [(spans[i][2], spans[j][2]) for i in range(len(spans))
             for j in range(i + 1, len(spans)) if spans[j][0] <= spans[i][1]]
    if not pairs:
        return []
    customers = partitions.files[CUSTOMERS]
    futures = [client.submit(_intersection, customers[a], customers[b], pure=False)
               for a, b in pairs]
    shared = [(pair, found) for pair, found in zip(pairs, client.gather(futures), strict=True)
              if found[0]]
    if not shared:
        return []
    count = sum(found[0] for _, found in shared)
    examples = sorted({value for _, found in shared for value in found[1]})[:EXAMPLE_IDS]
    files = sorted({_short(customers[name]) for pair, _ in shared for name in pair})
    problem = (f"customers: {count} customer(s) are in more than one partition "
               f"({describe_names(files)}), e.g. customer_id {', '.join(map(str, examples))}")
    return [problem]


def _intersection(url_a: str, url_b: str) -> tuple[int, list[int]]:
    ids_a = _read_parquet(url_a, CUSTOMERS, [CUSTOMER_ID])[CUSTOMER_ID]
    ids_b = _read_parquet(url_b, CUSTOMERS, [CUSTOMER_ID])[CUSTOMER_ID]
    both = np.intersect1d(ids_a, ids_b)
    return len(both), [int(value) for value in both[:EXAMPLE_IDS]]


def _straddle_problem(client: Client, partitions: CustomerPartitions, table: str,
                      foreign: list[tuple[str, tuple[int, list[int]]]]) -> str:
    """One line for ``table``: the part files with rows of other partitions' customers, how
    many, a few, and where those belong (looked up on the cluster)."""
    count = sum(found[0] for _, found in foreign)
    examples = sorted({value for _, found in foreign for value in found[1]})[:EXAMPLE_IDS]
    customers = partitions.files[CUSTOMERS]
    futures = [client.submit(_holders, customers[name], examples, pure=False)
               for name in partitions.names]
    homes = {value: name for name, held in zip(partitions.names, client.gather(futures),
                                                strict=True) for value in held}
    files = describe_names(_short(partitions.files[table][name]) for name, _ in foreign)
    shown = ", ".join(f"{value} (of {homes[value]})" if value in homes
                      else f"{value} (of no partition)" for value in examples)
    return (f"{table}: {count} customer(s) have rows in a part file that is not their "
            f"customers partition ({files}), e.g. customer_id {shown}")


# ------------------------------------------------------------------------------ repartition


def _divisions(client: Client, customer_files: list[str], partitions: int,
               source: str) -> list[int]:
    """``partitions + 1`` increasing customer ids cutting the customers into ranges of about
    equal counts: each customers file's task returns an evenly spaced sample of its sorted ids
    (its smallest and largest among them), and the weighted sample's quantiles are the cuts."""
    size = max(16, min(64 * partitions, SAMPLE_POINTS // max(len(customer_files), 1)))
    samples = client.gather([client.submit(_id_sample, url, size, pure=False)
                             for url in customer_files])
    samples = [(count, values) for count, values in samples if count]
    if not samples:
        raise DatasetReadError(f"data set {source} has no customers to partition")
    values = np.concatenate([values for _, values in samples])
    weights = np.concatenate([np.full(len(values), count / len(values))
                              for count, values in samples])
    order = np.argsort(values, kind="stable")
    values, cumulative = values[order], np.cumsum(weights[order])
    low, high, customers = int(values[0]), int(values[-1]), cumulative[-1]
    if partitions > 1 and (customers < partitions or high - low < partitions):
        raise ConfigError(f"repartition.partitions={partitions} is more than the data set's "
                          f"{int(customers)} customer(s) can fill; choose fewer partitions")
    ranks = customers * np.arange(1, partitions) / partitions
    inner = values[np.minimum(np.searchsorted(cumulative, ranks), len(values) - 1)]
    divisions = np.unique(np.concatenate([[low], inner, [high]]).astype("int64"))
    if len(divisions) != partitions + 1:     # repeated cuts (few customers): even id ranges
        divisions = np.unique(np.linspace(low, high, partitions + 1).astype("int64"))
    if len(divisions) == 1:      # one customer id: a single partition holding it
        divisions = np.array([low, low])
    return [int(value) for value in divisions]


def _id_sample(url: str, size: int) -> tuple[int, np.ndarray]:
    """How many customers the file holds, and ``size`` of its sorted ids evenly spaced by rank
    (the first and the last included)."""
    ids = np.sort(_read_parquet(url, CUSTOMERS, [CUSTOMER_ID])[CUSTOMER_ID].to_numpy())
    if not len(ids):
        return 0, ids
    positions = np.unique(np.linspace(0, len(ids) - 1, min(size, len(ids))).round().astype(int))
    return len(ids), ids[positions]


def _shuffled(frame: Any, table: str, divisions: list[int]) -> Any:
    """``frame``'s rows moved to the range partitions of their customers, in (customer, key)
    order within each, with the columns as they were."""
    columns = list(frame.columns)
    moved = frame.set_index(CUSTOMER_ID, drop=False, divisions=divisions)
    key = TABLES[table].key
    order = [CUSTOMER_ID] if key == CUSTOMER_ID or key not in columns else [CUSTOMER_ID, key]
    return moved.map_partitions(_ordered, order, columns, meta=frame._meta).clear_divisions()


def _ordered(part: pd.DataFrame, order: list[str], columns: list[str]) -> pd.DataFrame:
    part = part.reset_index(drop=True)
    return part.sort_values(order, kind="stable", ignore_index=True)[columns]


def _part_file_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def _check_row_counts(tables: Mapping[str, list[str]], footers: Mapping[str, _Footer],
                      staging: Path, source: str) -> None:
    """Every table holds as many rows as the source, or nothing is published."""
    for table, urls in tables.items():
        before = sum(footers[url].rows for url in urls)
        written = _footers(str(path) for path in sorted((staging / table).glob("*.parquet")))
        after = sum(footer.rows for footer in written.values())
        if after != before:
            raise DatasetReadError(
                f"repartitioning {source}: table {table!r} has {after:,} rows written but "
                f"{before:,} in the source; nothing was published")
