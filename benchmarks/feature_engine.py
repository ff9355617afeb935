"""Speed and peak memory of the point-in-time feature engine against polars, DuckDB, featuretools.

    python benchmarks/feature_engine.py                                   # 100,000 customers
    python benchmarks/feature_engine.py --customers 20000 --engines ours,duckdb
    python benchmarks/feature_engine.py --chunk-customers 10000,50000,100000 \\
        --output-json outputs/feature_engine.json
    python benchmarks/feature_engine.py --engines ours --profile-top 15     # where the time goes
    python benchmarks/feature_engine.py --engines ours-subset,polars --workers 1,2

Every engine runs on the same simulated data set (generated under ``--data-dir`` if absent, reused
otherwise) and the same snapshots: every customer whose line is open at each of the twelve month
starts of 2024. Each measurement runs in a fresh Python process, so engines never share a heap;
its peak memory is the child's peak resident set size as the kernel accounts it when the child is
reaped (``os.wait4``, the per-child form of ``getrusage(RUSAGE_CHILDREN)``). With ``--workers``
above 1 our engine runs chunks in worker processes, which that peak (one process's) leaves out:
*tree MB* is the peak of the proportional set size (PSS) summed over the child and every process
below it, sampled every 0.1 s, and CPU time adds the workers' (the forkserver is stopped, so
reaped, before the child reports). Wall time covers the
feature computation only: reading Parquet and building the snapshot table happen before the clock
starts, in every engine's own native form (pandas frames, a polars frame, DuckDB tables).

Engines (``--engines``, comma separated):

``ours``            ``build_features`` with the default spec (all ~190 features), once per
                    ``--chunk-customers`` value and ``--workers`` value, to show how memory and
                    time move with the chunk and the worker processes.
``ours-subset``     ``build_features`` on a spec restricted to the comparison subset below (plus
                    the two state features every spec yields: tenure, current days past due),
                    once per ``--workers`` value; runs with workers > 1 are checked against the
                    serial one (they must agree exactly).
``polars``          the subset in polars: join snapshots to events per customer, filter to the
                    trailing year, one ``group_by`` with per-window filtered aggregations.
``polars-rolling``  the subset in polars with time-based rolling kernels: snapshot rows are
                    interleaved with the events and ``rolling_*_by(closed="left")`` is read off at
                    them.
``duckdb``          the subset in SQL: a range join of snapshots to events and ``FILTER``-ed
                    aggregates per window.
``featuretools``    the subset through featuretools DFS (cutoff time per snapshot, one
                    ``training_window`` per window) on the first ``--featuretools-customers``
                    customers; ``ours-subset`` is run on the same customers for the speed ratio.

The comparison subset: orders count, sum, mean, max, min and std of the amount over 7, 30, 90, 180
and 365 days, all orders and promotion orders only; repayments count and sum over 30, 90, 180 and
365 days; statement utilisation mean and max over 90, 180 and 365 days (74 features). The other
engines' values are checked against ours, feature by feature (missing in the same places, largest
absolute and relative difference elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPOSITORY = Path(__file__).resolve().parents[1]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from credit_models.features.spec import feature_name

ENGINES = ("ours", "ours-subset", "polars", "polars-rolling", "duckdb", "featuretools")
COMPARED = ("polars", "polars-rolling", "duckdb", "featuretools")
FIRST_AS_OF, LAST_AS_OF = "2024-01-01", "2024-12-01"

ORDER_WINDOWS = (7, 30, 90, 180, 365)
ORDER_STATISTICS = ("sum", "mean", "max", "min", "std")
REPAYMENT_WINDOWS = (30, 90, 180, 365)
STATEMENT_WINDOWS = (90, 180, 365)
STATEMENT_STATISTICS = ("mean", "max")
KEYS = ["customer_id", "as_of"]
ZERO_WHEN_EMPTY = ("count", "sum")
"""An empty window gives 0 for these and missing for every other statistic, as in the engine."""


# ---------------------------------------------------------------------------------------------
# The comparison subset, as a spec and as the list of (name, source, filter, function, window).


def subset_spec_dict() -> dict:
    """The feature-spec mapping (as in conf/features/*.yaml) of the comparison subset."""
    return {
        "name": "benchmark-subset",
        "latency_days": 0,
        "static_attributes": False,
        "filters": {
            "promotion": {"source": "orders", "column": "is_promotion", "operator": "eq",
                          "value": 1, "description": "placed during a promotion"},
        },
        "aggregates": [
            {"source": "orders", "functions": ["count"], "windows": list(ORDER_WINDOWS),
             "filters": [None, "promotion"]},
            {"source": "orders", "column": "amount", "functions": list(ORDER_STATISTICS),
             "windows": list(ORDER_WINDOWS), "filters": [None, "promotion"]},
            {"source": "repayments", "functions": ["count"], "windows": list(REPAYMENT_WINDOWS)},
            {"source": "repayments", "column": "amount", "functions": ["sum"],
             "windows": list(REPAYMENT_WINDOWS)},
            {"source": "statements", "column": "utilisation",
             "functions": list(STATEMENT_STATISTICS), "windows": list(STATEMENT_WINDOWS)},
        ],
    }


def subset_features() -> list[tuple[str, str, str | None, str | None, str, int]]:
    """(name, source, column, filter, function, window) for every feature of the subset."""
    features = []
    for filter_name in (None, "promotion"):
        for function in ("count", *ORDER_STATISTICS):
            column = None if function == "count" else "amount"
            for window in ORDER_WINDOWS:
                features.append((feature_name("orders", column, function, window, filter_name),
                                 "orders", column, filter_name, function, window))
    for function, column in (("count", None), ("sum", "amount")):
        for window in REPAYMENT_WINDOWS:
            features.append((feature_name("repayments", column, function, window),
                             "repayments", column, None, function, window))
    for function in STATEMENT_STATISTICS:
        for window in STATEMENT_WINDOWS:
            features.append((feature_name("statements", "utilisation", function, window),
                             "statements", "utilisation", None, function, window))
    return features


# ---------------------------------------------------------------------------------------------
# Memory accounting inside a child.


def _status_kib(field: str) -> int | None:
    """A field of /proc/self/status in KiB (Linux), or None where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# Data and snapshots.


def ensure_data(data_dir: Path, customers: int) -> Path:
    from credit_models.data.io import MANIFEST_NAME
    from credit_models.data.simulator import SimulatorConfig, generate_to_folder

    manifest = data_dir / MANIFEST_NAME
    if manifest.is_file():
        stored = json.loads(manifest.read_text())["details"]["config"]["n_customers"]
        if stored != customers:
            print(f"note: reusing {data_dir} ({stored:,} customers, not {customers:,})")
        return data_dir
    print(f"generating {customers:,} customers into {data_dir} ...", flush=True)
    started = time.perf_counter()
    generate_to_folder(SimulatorConfig(n_customers=customers), data_dir, show_progress=False)
    print(f"  generated in {time.perf_counter() - started:.0f}s", flush=True)
    return data_dir


def _parquet_glob(root: Path, table: str) -> str:
    from credit_models.data.io import table_path

    path = table_path(root, table)
    if path is None:
        raise FileNotFoundError(f"table {table!r} is missing under {root}")
    return str(path / "*.parquet") if path.is_dir() else str(path)


def _pandas_tables(root: Path, names: tuple[str, ...] | None, sample: int | None):
    from credit_models.data.io import read_table, read_tables

    if names is None:
        tables = read_tables(root)
    else:
        tables = {name: read_table(root, name) for name in names}
    if sample:
        keep = np.sort(tables["customers"]["customer_id"].to_numpy())[:sample]
        tables = {
            name: frame[frame["customer_id"].isin(keep)].reset_index(drop=True)
            for name, frame in tables.items()
        }
    return tables


def _snapshots(customers: pd.DataFrame) -> pd.DataFrame:
    from credit_models.features.snapshots import customer_snapshots, month_starts

    return customer_snapshots(customers, month_starts(FIRST_AS_OF, LAST_AS_OF))


# ---------------------------------------------------------------------------------------------
# Engines. Each has a loader (untimed: data into the engine's native memory) and a runner (timed).


def _load_ours(root: Path, job: dict):
    names = None if job["spec"] == "default" else ("customers", "orders", "bills", "repayments")
    tables = _pandas_tables(root, names, job.get("sample"))
    return tables, _snapshots(tables["customers"])


def _spec(which: str):
    from omegaconf import OmegaConf

    from credit_models.features.spec import parse_feature_spec

    if which == "default":
        raw = OmegaConf.to_container(OmegaConf.load(REPOSITORY / "conf/features/default.yaml"))
        return parse_feature_spec(raw)
    return parse_feature_spec(subset_spec_dict())


def _run_ours(loaded, job: dict) -> pd.DataFrame:
    from credit_models.features.engine import build_features

    tables, snapshots = loaded
    spec = _spec(job["spec"])
    return build_features(spec, tables, snapshots, chunk_customers=job["chunk"],
                          workers=job.get("workers", 1)).frame


def _stop_forkserver() -> None:
    """Stop (and so reap) the forkserver the engine's worker pool started, if any: its reaped
    workers' CPU time then counts in this process's ``RUSAGE_CHILDREN``."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    if server is not None and hasattr(server, "_stop"):
        server._stop()


def _children_cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load_polars(root: Path, job: dict):
    import polars as pl

    customers = pl.read_parquet(_parquet_glob(root, "customers"),
                                columns=["customer_id", "signed_up_at"])
    snapshots = pl.from_pandas(_snapshots(customers.to_pandas()))
    orders = pl.read_parquet(_parquet_glob(root, "orders"),
                             columns=["customer_id", "ordered_at", "amount", "is_promotion"])
    repayments = pl.read_parquet(_parquet_glob(root, "repayments"),
                                 columns=["customer_id", "repaid_at", "amount"])
    bills = pl.read_parquet(_parquet_glob(root, "bills"),
                            columns=["customer_id", "statement_date", "amount_due", "credit_limit"])
    return snapshots, orders, repayments, bills


def _polars_events(orders, repayments, bills):
    """The three event streams as (customer_id, t, value columns); utilisation as the engine
    defines it: amount due over a positive credit limit, missing otherwise."""
    import polars as pl

    positive_limit = pl.when(pl.col("credit_limit") > 0).then(pl.col("credit_limit"))
    return {
        "orders": orders.select(
            "customer_id", pl.col("ordered_at").alias("t"), "amount",
            pl.col("is_promotion").alias("promotion"),
        ),
        "repayments": repayments.select("customer_id", pl.col("repaid_at").alias("t"), "amount"),
        "statements": bills.select(
            "customer_id", pl.col("statement_date").alias("t"),
            (pl.col("amount_due") / positive_limit).alias("utilisation"),
        ),
    }


def _polars_statistic(values, function: str):
    return {"sum": values.sum, "mean": values.mean, "max": values.max, "min": values.min,
            "std": values.std}[function]()


def _run_polars(loaded, job: dict):
    """Join each event stream to the snapshots on the customer, keep the trailing year before
    as_of, and aggregate every window with filtered expressions in one group_by per stream."""
    import polars as pl

    snapshots, orders, repayments, bills = loaded
    events = _polars_events(orders, repayments, bills)
    by_source: dict[str, list] = {"orders": [], "repayments": [], "statements": []}
    for name, source, column, filter_name, function, window in subset_features():
        in_window = pl.col("t") >= pl.col("as_of") - pl.duration(days=window)
        if filter_name == "promotion":
            in_window = in_window & pl.col("promotion")
        if function == "count":
            expression = in_window.sum()
        else:
            expression = _polars_statistic(pl.col(column).filter(in_window), function)
        by_source[source].append(expression.alias(name))
    result = snapshots.lazy()
    for source, expressions in by_source.items():
        longest = max(w for _, s, _, _, _, w in subset_features() if s == source)
        joined = (
            snapshots.lazy()
            .join(events[source].lazy(), on="customer_id", how="inner")
            .filter((pl.col("t") < pl.col("as_of"))
                    & (pl.col("t") >= pl.col("as_of") - pl.duration(days=longest)))
        )
        aggregated = joined.group_by(KEYS).agg(expressions)
        result = result.join(aggregated, on=KEYS, how="left")
    zero = [name for name, *_, function, _ in subset_features() if function in ZERO_WHEN_EMPTY]
    return result.with_columns(pl.col(zero).fill_null(0)).collect()


def _run_polars_rolling(loaded, job: dict):
    """Interleave snapshot rows (no values) with each customer's events, sorted by time, and read
    the left-closed time-based rolling statistics off the snapshot rows."""
    import polars as pl

    snapshots, orders, repayments, bills = loaded
    events = _polars_events(orders, repayments, bills)
    wanted: dict[str, list] = {"orders": [], "repayments": [], "statements": []}
    for feature in subset_features():
        wanted[feature[1]].append(feature)
    result = snapshots
    for source, features in wanted.items():
        stream = events[source]
        if source == "orders":
            stream = stream.with_columns(
                pl.when(pl.col("promotion")).then(pl.col("amount")).alias("promotion_amount"),
                pl.col("promotion").cast(pl.Float64).alias("promotion_count"),
            )
        stream = stream.with_columns(pl.lit(1.0).alias("one"), pl.lit(False).alias("snapshot"))
        marks = snapshots.select(
            "customer_id", pl.col("as_of").alias("t"), pl.lit(True).alias("snapshot")
        )
        rows = pl.concat([stream, marks], how="diagonal_relaxed").sort("customer_id", "t")
        expressions = []
        for name, _, column, filter_name, function, window in features:
            if function == "count":
                values, kernel = ("promotion_count" if filter_name else "one"), "sum"
            else:
                values = "promotion_amount" if filter_name else column
                kernel = function
            rolling = getattr(pl.col(values), f"rolling_{kernel}_by")(
                "t", window_size=f"{window}d", closed="left"
            )
            expressions.append(rolling.over("customer_id").alias(name))
        computed = (
            rows.lazy().with_columns(expressions)
            .filter(pl.col("snapshot"))
            .select("customer_id", pl.col("t").alias("as_of"), *[f[0] for f in features])
            .collect()
        )
        result = result.join(computed, on=KEYS, how="left")
    zero = [name for name, *_, function, _ in subset_features() if function in ZERO_WHEN_EMPTY]
    return result.with_columns(pl.col(zero).fill_null(0))


def _load_duckdb(root: Path, job: dict):
    import duckdb

    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")  # interval arithmetic on TIMESTAMPTZ is calendar
    connection.execute(f"SET threads = {os.cpu_count() or 1}")
    for table, columns in (
        ("orders", "customer_id, ordered_at AS t, amount, is_promotion AS promotion"),
        ("repayments", "customer_id, repaid_at AS t, amount"),
        ("statements", ("customer_id, statement_date AS t, amount_due / "
                        "CASE WHEN credit_limit > 0 THEN credit_limit END AS utilisation")),
    ):
        source = "bills" if table == "statements" else table
        connection.execute(
            f"CREATE TABLE {table} AS SELECT {columns} "
            f"FROM read_parquet('{_parquet_glob(root, source)}')"
        )
    customers = connection.execute(
        f"SELECT customer_id, signed_up_at FROM read_parquet('{_parquet_glob(root, 'customers')}')"
    ).df()
    connection.register("snapshot_frame", _snapshots(customers))
    connection.execute("CREATE TABLE snapshots AS SELECT * FROM snapshot_frame")
    connection.unregister("snapshot_frame")
    return connection


def _duckdb_sql() -> str:
    selects, joins = [], []
    for source in ("orders", "repayments", "statements"):
        features = [f for f in subset_features() if f[1] == source]
        longest = max(f[5] for f in features)
        columns = []
        for name, _, column, filter_name, function, window in features:
            condition = f"e.t >= s.as_of - INTERVAL '{window} days'"
            if filter_name == "promotion":
                condition += " AND e.promotion"
            call = {"count": "count(e.t)", "sum": f"sum(e.{column})", "mean": f"avg(e.{column})",
                    "max": f"max(e.{column})", "min": f"min(e.{column})",
                    "std": f"stddev_samp(e.{column})"}[function]
            columns.append(f'{call} FILTER (WHERE {condition}) AS "{name}"')
            selects.append(
                f'coalesce({source}."{name}", 0) AS "{name}"' if function in ZERO_WHEN_EMPTY
                else f'{source}."{name}"'
            )
        joins.append(
            f"LEFT JOIN (SELECT s.customer_id, s.as_of, {', '.join(columns)}\n"
            f"  FROM snapshots s JOIN {source} e ON e.customer_id = s.customer_id\n"
            f"   AND e.t < s.as_of AND e.t >= s.as_of - INTERVAL '{longest} days'\n"
            f"  GROUP BY s.customer_id, s.as_of) {source} USING (customer_id, as_of)"
        )
    return (f"SELECT customer_id, as_of, {', '.join(selects)}\nFROM snapshots\n"
            + "\n".join(joins))


def _run_duckdb(connection, job: dict):
    return connection.execute(_duckdb_sql()).to_arrow_table()


def _load_featuretools(root: Path, job: dict):
    tables = _pandas_tables(root, ("customers", "orders", "bills", "repayments"), job["sample"])
    return tables, _snapshots(tables["customers"])


class _CachedAccessor:
    """pandas < 3 cached an accessor object on the frame it was first read from; pandas 3 builds a
    new one on every access. Woodwork keeps its schema on that object, so under pandas 3 a schema
    set by ``df.ww.init`` is gone at the next ``df.ww``. Restoring the caching lets woodwork 0.31
    and featuretools 1.31 run (benchmark only)."""

    def __init__(self, name: str, accessor: type):
        self._name, self._accessor = name, accessor

    def __get__(self, obj, cls):
        if obj is None:
            return self._accessor
        accessor = self._accessor(obj)
        object.__setattr__(obj, self._name, accessor)
        return accessor


def _pkg_resources_stand_in() -> None:
    """woodwork 0.31 and featuretools 1.31 import ``pkg_resources`` (gone from setuptools >= 81)
    only to look up plugin entry points; a stand-in over importlib.metadata serves that."""
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        import types
        from importlib.metadata import entry_points

        module = types.ModuleType("pkg_resources")
        module.iter_entry_points = lambda group, name=None: [
            point for point in entry_points(group=group) if name is None or point.name == name
        ]
        module.working_set = []
        sys.modules["pkg_resources"] = module


def _woodwork_on_pandas_3() -> None:
    _pkg_resources_stand_in()
    import woodwork  # noqa: F401 - registers the ww accessors

    for owner in (pd.DataFrame, pd.Series):
        if not isinstance(owner.__dict__.get("ww"), _CachedAccessor):
            owner.ww = _CachedAccessor("ww", owner.ww)


def _run_featuretools(loaded, job: dict) -> pd.DataFrame:
    """Deep feature synthesis with depth 1 on customers -> (orders, repayments, statements),
    a where-clause on promotion orders, and one calculate_feature_matrix per window:
    featuretools takes a single training window per call. include_cutoff_time=False makes the
    window [as_of - w, as_of), the engine's rule."""
    _woodwork_on_pandas_3()
    import featuretools as ft
    from woodwork.logical_types import Boolean, Datetime, Double, Integer

    tables, snapshots = loaded
    bills = tables["bills"]
    limit = bills["credit_limit"].where(bills["credit_limit"] > 0)
    frames = {
        "orders": (tables["orders"][["order_id", "customer_id", "ordered_at", "amount",
                                     "is_promotion"]], "order_id", "ordered_at",
                   {"is_promotion": Boolean, "amount": Double}),
        "repayments": (tables["repayments"][["repayment_id", "customer_id", "repaid_at",
                                             "amount"]], "repayment_id", "repaid_at",
                       {"amount": Double}),
        "statements": (bills[["bill_id", "customer_id", "statement_date"]].assign(
            utilisation=bills["amount_due"] / limit), "bill_id", "statement_date",
            {"utilisation": Double}),
    }
    entityset = ft.EntitySet("credit")
    entityset.add_dataframe(dataframe_name="customers",
                            dataframe=tables["customers"][["customer_id"]].copy(),
                            index="customer_id", logical_types={"customer_id": Integer})
    for name, (frame, index, time_index, types) in frames.items():
        entityset.add_dataframe(
            dataframe_name=name, dataframe=frame.copy(), index=index, time_index=time_index,
            logical_types={"customer_id": Integer, time_index: Datetime, **types},
        )
        entityset.add_relationship("customers", "customer_id", name, "customer_id")
    entityset.add_last_time_indexes()
    entityset["orders"].ww.columns["is_promotion"].metadata["interesting_values"] = [True]
    definitions = ft.dfs(
        entityset=entityset, target_dataframe_name="customers", max_depth=1,
        agg_primitives=["count", "sum", "mean", "max", "min", "std"],
        where_primitives=["count", "sum", "mean", "max", "min", "std"], trans_primitives=[],
        features_only=True,
    )
    by_name = {definition.get_name(): definition for definition in definitions}
    primitive_names = {"count": "COUNT", "sum": "SUM", "mean": "MEAN", "max": "MAX", "min": "MIN",
                       "std": "STD"}
    cutoff = pd.DataFrame({"customer_id": snapshots["customer_id"].to_numpy(),
                           "time": snapshots["as_of"].to_numpy()})
    columns: dict[str, pd.Series] = {}
    windows = sorted({f[5] for f in subset_features()})
    for window in windows:
        wanted = {}
        for name, source, column, filter_name, function, w in subset_features():
            if w != window:
                continue
            inner = source if column is None else f"{source}.{column}"
            where = " WHERE is_promotion = True" if filter_name == "promotion" else ""
            wanted[f"{primitive_names[function]}({inner}{where})"] = name
        missing = sorted(set(wanted) - set(by_name))
        if missing:
            raise RuntimeError(f"DFS did not generate {missing}; it made {sorted(by_name)}")
        matrix = ft.calculate_feature_matrix(
            [by_name[key] for key in wanted], entityset=entityset, cutoff_time=cutoff,
            training_window=f"{window} days", include_cutoff_time=False,
            cutoff_time_in_index=True, verbose=False,
        )
        matrix = matrix.rename(columns=wanted)
        for name in wanted.values():
            columns[name] = matrix[name].astype("float64")
    # featuretools' STD is np.std, the population deviation (ddof=0, 0.0 for one value); the
    # engine, polars and DuckDB give the sample deviation (ddof=1, missing below two values).
    for name, source, _, filter_name, function, window in subset_features():
        if function == "std":
            n = columns[feature_name(source, None, "count", window, filter_name)]
            columns[name] = (columns[name] * np.sqrt(n / (n - 1))).where(n > 1)
    result = pd.DataFrame(columns).reset_index().rename(columns={"time": "as_of"})
    return result


ENGINE_FUNCTIONS = {
    "ours": (_load_ours, _run_ours),
    "polars": (_load_polars, _run_polars),
    "polars-rolling": (_load_polars, _run_polars_rolling),
    "duckdb": (_load_duckdb, _run_duckdb),
    "featuretools": (_load_featuretools, _run_featuretools),
}


def _to_pandas(result) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        return result
    if hasattr(result, "to_pandas"):  # polars frame, Arrow table
        return result.to_pandas()
    raise TypeError(type(result))


def _worker(job: dict) -> None:
    """Child process: load, reset the RSS high-water mark, run the engine on the clock, report."""
    import warnings

    warnings.filterwarnings("ignore")
    root = Path(job["data_dir"])
    load, run = ENGINE_FUNCTIONS[job["engine"]]
    started = time.perf_counter()
    loaded = load(root, job)
    load_seconds = time.perf_counter() - started
    load_peak_kib = _status_kib("VmHWM")
    base_kib = _status_kib("VmRSS")
    reset = _reset_peak_rss()
    profile = None
    if job.get("profile_top"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    started, cpu_started = time.perf_counter(), time.process_time()
    children_cpu_started = _children_cpu_seconds()
    result = run(loaded, job)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    _stop_forkserver()
    cpu_seconds += _children_cpu_seconds() - children_cpu_started
    if profile is not None:
        profile.disable()
    engine_peak_kib = _status_kib("VmHWM") if reset else None
    frame = _to_pandas(result)
    report = {
        "seconds": seconds, "cpu_seconds": cpu_seconds, "load_seconds": load_seconds,
        "rows": len(frame),
        "features": int(frame.shape[1] - 2),
        "customers": int(frame["customer_id"].nunique()),
        "load_peak_mb": (load_peak_kib or 0) / 1024, "base_rss_mb": (base_kib or 0) / 1024,
        "engine_peak_rss_mb": None if engine_peak_kib is None else engine_peak_kib / 1024,
    }
    if profile is not None:
        report["profile"] = _profile_table(profile, job["profile_top"])
    if job.get("values"):
        keep = [c for c in frame.columns if c in set(KEYS) | {f[0] for f in subset_features()}]
        values = frame[keep].copy()
        values["as_of"] = pd.to_datetime(values["as_of"], utc=True).dt.as_unit("us")
        values.to_parquet(job["values"], index=False)
    Path(job["report"]).write_text(json.dumps(report))


def _profile_table(profile, top: int) -> dict[str, str]:
    import io
    import pstats

    tables = {}
    for order in ("tottime", "cumulative"):
        buffer = io.StringIO()
        pstats.Stats(profile, stream=buffer).strip_dirs().sort_stats(order).print_stats(top)
        tables[order] = buffer.getvalue()
    return tables


# ---------------------------------------------------------------------------------------------
# The parent: one child per measurement, peak RSS from the kernel's accounting of that child.


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (Linux ``/proc/<pid>/task/<tid>/children``)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                queue.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def _tree_pss_mb(pid: int) -> float:
    """Proportional set size summed over ``pid`` and its descendants, in MB (0 off Linux)."""
    total_kib = 0
    for member in _descendants(pid):
        try:
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kib += int(line.split()[1])
                    break
        except OSError:
            continue
    return total_kib / 1024


def run_child(job: dict, scratch: Path, timeout: float) -> dict:
    tag = f"{job['label']}".replace(" ", "_").replace("/", "_").replace("=", "")
    job = {**job, "report": str(scratch / f"{tag}.json")}
    if job.get("compare"):
        job["values"] = str(scratch / f"{tag}.parquet")
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(job)]
    child = subprocess.Popen(command, cwd=REPOSITORY)
    deadline = time.monotonic() + timeout
    tree_peak_mb, next_sample = 0.0, 0.0
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            child.kill()
            pid, status, usage = os.wait4(child.pid, 0)
            return {**job, "error": f"timed out after {timeout:.0f}s"}
        if time.monotonic() >= next_sample:
            tree_peak_mb = max(tree_peak_mb, _tree_pss_mb(child.pid))
            next_sample = time.monotonic() + 0.1
        time.sleep(0.05)
    child.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = usage.ru_maxrss / 1024 if platform.system() == "Linux" else usage.ru_maxrss / 2**20
    if child.returncode != 0 or not Path(job["report"]).is_file():
        return {**job, "error": f"exit code {child.returncode}", "peak_rss_mb": peak_mb}
    return {**job, **json.loads(Path(job["report"]).read_text()), "peak_rss_mb": peak_mb,
            "tree_peak_mb": tree_peak_mb}


def _best_of(job: dict, scratch: Path, args) -> dict:
    """The fastest of ``--repeat`` runs (each in a fresh child) and the largest peak among them:
    the wall time least disturbed by other work on the machine, the memory a run can need."""
    runs = [run_child(job, scratch, args.timeout) for _ in range(args.repeat)]
    good = [r for r in runs if "error" not in r]
    if not good:
        return runs[0]
    best = min(good, key=lambda r: r["seconds"])
    return {**best, "all_seconds": [r["seconds"] for r in good],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in good),
            "tree_peak_mb": max(r.get("tree_peak_mb", 0.0) for r in good)}


def compare(reference: Path, other: Path) -> dict:
    """Largest differences between two engines' subset values, aligned on (customer, as_of), per
    statistic: missing in different places, largest absolute difference, and largest relative
    difference (against max(|ours|, 1))."""
    ours = pd.read_parquet(reference).set_index(KEYS).sort_index()
    theirs = pd.read_parquet(other).set_index(KEYS).sort_index()
    if not ours.index.equals(theirs.index):
        return {"error": f"rows differ: {len(ours):,} vs {len(theirs):,} "
                         f"({len(ours.index.difference(theirs.index)):,} only in ours)"}
    function_of = {f[0]: f[4] for f in subset_features()}
    by_function: dict[str, dict] = {}
    for name in theirs.columns.intersection(ours.columns):
        left = ours[name].to_numpy(dtype="float64")
        right = theirs[name].to_numpy(dtype="float64")
        both = ~np.isnan(left) & ~np.isnan(right)
        worst = by_function.setdefault(function_of[name], {
            "features": 0, "missing_mismatches": 0, "max_abs_diff": 0.0, "max_rel_diff": 0.0,
            "max_abs_diff_feature": "", "values_off_by_1e-6": 0,
        })
        worst["features"] += 1
        worst["missing_mismatches"] += int((np.isnan(left) != np.isnan(right)).sum())
        if both.any():
            difference = np.abs(left[both] - right[both])
            relative = difference / np.maximum(np.abs(left[both]), 1.0)
            worst["values_off_by_1e-6"] += int((relative > 1e-6).sum())
            if difference.max() > worst["max_abs_diff"]:
                worst["max_abs_diff"] = float(difference.max())
                worst["max_abs_diff_feature"] = name
            worst["max_rel_diff"] = max(worst["max_rel_diff"], float(relative.max()))
    return {"rows": len(ours), "features": sum(w["features"] for w in by_function.values()),
            "by_function": by_function,
            "max_abs_diff": max(w["max_abs_diff"] for w in by_function.values()),
            "missing_mismatches": sum(w["missing_mismatches"] for w in by_function.values())}


def plan(args) -> list[dict]:
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        raise SystemExit(f"unknown engine(s) {unknown}; choose from {', '.join(ENGINES)}")
    base = {"data_dir": str(args.data_dir)}
    chunks = [int(c) for c in str(args.chunk_customers).split(",")]
    workers = [int(w) for w in str(args.workers).split(",")]
    jobs = []
    if "ours" in engines:
        for chunk in chunks:
            for count in workers:
                label = f"ours default chunk={chunk}" + (f" workers={count}" if count != 1 else "")
                jobs.append({**base, "engine": "ours", "spec": "default", "chunk": chunk,
                             "workers": count, "label": label})
    needs_reference = any(e in engines for e in ("ours-subset", "polars", "polars-rolling",
                                                  "duckdb"))
    if needs_reference:
        jobs.append({**base, "engine": "ours", "spec": "subset", "chunk": 50_000,
                     "label": "ours subset", "compare": True})
    if "ours-subset" in engines:
        for count in (w for w in workers if w != 1):
            jobs.append({**base, "engine": "ours", "spec": "subset", "chunk": 50_000,
                         "workers": count, "label": f"ours subset workers={count}",
                         "compare": True, "reference": "ours subset"})
    for engine in ("polars", "polars-rolling", "duckdb"):
        if engine in engines:
            jobs.append({**base, "engine": engine, "label": f"{engine} subset", "compare": True,
                         "reference": "ours subset"})
    if "featuretools" in engines:
        sample = args.featuretools_customers
        jobs.append({**base, "engine": "ours", "spec": "subset", "chunk": 50_000,
                     "sample": sample, "label": f"ours subset n={sample}", "compare": True})
        jobs.append({**base, "engine": "featuretools", "sample": sample,
                     "label": f"featuretools subset n={sample}", "compare": True,
                     "reference": f"ours subset n={sample}"})
    if args.profile_top:
        jobs.append({**base, "engine": "ours", "spec": "default", "chunk": 50_000,
                     "profile_top": args.profile_top, "label": "ours default (cProfile)"})
    return jobs


def _print_table(results: list[dict]) -> None:
    header = (f"{'engine':34} {'customers':>9} {'snapshots':>9} {'feats':>5} {'wall s':>7} "
              f"{'CPU s':>7} {'snaps/s':>9} {'peak MB':>8} {'eng. MB':>8} {'base MB':>8} "
              f"{'tree MB':>8}")
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        if "error" in r:
            print(f"{r['label']:34} ERROR: {r['error']}")
            continue
        engine_mb = r.get("engine_peak_rss_mb")
        print(f"{r['label']:34} {r['customers']:>9,} {r['rows']:>9,} {r['features']:>5} "
              f"{r['seconds']:>7.1f} {r['cpu_seconds']:>7.1f} {r['rows'] / r['seconds']:>9,.0f} "
              f"{r['peak_rss_mb']:>8,.0f} "
              f"{(engine_mb or float('nan')):>8,.0f} {r['base_rss_mb']:>8,.0f} "
              f"{r.get('tree_peak_mb', float('nan')):>8,.0f}")
    print("wall s / CPU s: the engine's elapsed and CPU time (all threads; reading data excluded);"
          " snaps/s: snapshots per wall second;\npeak MB: the child's peak RSS, loading included; "
          "eng. MB: peak RSS while the engine ran (high-water mark reset after loading);\n"
          "base MB: RSS when the engine started (the data it was given);\n"
          "tree MB: peak PSS summed over the child and its worker processes (sampled every 0.1 s)."
          )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--customers", type=int, default=100_000,
                        help="customers to simulate when --data-dir holds no data set")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="data set folder: generated if absent, reused otherwise "
                             "(default data/generated/benchmark-<customers>)")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help=f"comma-separated subset of {', '.join(ENGINES)}")
    parser.add_argument("--chunk-customers", default="10000,50000,100000",
                        help="chunk sizes for the default-spec runs of our engine (comma list)")
    parser.add_argument("--workers", default="1",
                        help="worker processes for our engine's runs (comma list; 1 = serial)")
    parser.add_argument("--featuretools-customers", type=int, default=10_000,
                        help="customers (lowest ids) the featuretools comparison runs on")
    parser.add_argument("--profile-top", type=int, default=0,
                        help="also run our default spec once under cProfile and print the top N")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per measurement (fresh child each); the fastest is reported")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds after which a child is stopped and reported as timed out")
    parser.add_argument("--output-json", type=Path, default=None)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(json.loads(args.worker))
        return

    if args.data_dir is None:
        args.data_dir = REPOSITORY / "data" / "generated" / f"benchmark-{args.customers}"
    args.data_dir = ensure_data(args.data_dir.resolve(), args.customers)
    jobs = plan(args)
    load_before = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="feature-engine-benchmark-") as folder:
        scratch = Path(folder)
        for job in jobs:
            print(f"running {job['label']} ...", flush=True)
            result = _best_of(job, scratch, args)
            if "error" not in result:
                print(f"  {result['seconds']:.1f}s, peak {result['peak_rss_mb']:,.0f} MB, "
                      f"{result['rows']:,} snapshots", flush=True)
            else:
                print(f"  {result['error']}", flush=True)
            results.append(result)
        by_label = {r["label"]: r for r in results}
        for result in results:
            reference = by_label.get(result.get("reference", ""))
            if reference and "error" not in result and "error" not in reference:
                result["agreement"] = compare(Path(reference["values"]), Path(result["values"]))
                result["speedup_of_ours"] = result["seconds"] / reference["seconds"]
    _print_table([r for r in results if "profile" not in r])
    print()
    for result in results:
        if "agreement" not in result:
            continue
        agreement = result["agreement"]
        if "error" in agreement:
            print(f"{result['label']} vs {result['reference']}: {agreement['error']}")
            continue
        print(f"{result['label']} vs {result['reference']}: {agreement['features']} features x "
              f"{agreement['rows']:,} rows; their time / ours = {result['speedup_of_ours']:.2f}")
        for function, worst in agreement["by_function"].items():
            print(f"    {function:6} {worst['features']:>3} features: missing-value mismatches "
                  f"{worst['missing_mismatches']}, max |diff| {worst['max_abs_diff']:.3g}, max "
                  f"rel diff {worst['max_rel_diff']:.3g}, values off by >1e-6 (rel) "
                  f"{worst['values_off_by_1e-6']:,}")
    polars = by_label.get("polars subset")
    for result in results:
        if polars and "error" not in polars and result["label"].startswith("ours subset") \
                and "error" not in result and "sample" not in result:
            print(f"{result['label']}: {result['seconds']:.1f}s, "
                  f"{result['seconds'] / polars['seconds']:.2f}x polars' wall time")
    for result in results:
        if "profile" in result:
            print(f"\n{result['label']}: {result['seconds']:.1f}s under the profiler")
            print(result["profile"]["tottime"])
            print(result["profile"]["cumulative"])
    if args.output_json:
        args.output_json.parent.mkdir(parents=True, exist_ok=True)
        summary = {
            "data_dir": str(args.data_dir),
            "snapshots": f"customers open at each month start {FIRST_AS_OF} .. {LAST_AS_OF}",
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform()},
            "versions": _versions(),
            "load_average_before_after": [load_before, os.getloadavg()],
            "results": [{k: v for k, v in r.items() if k not in ("values", "report", "data_dir")}
                        for r in results],
        }
        args.output_json.write_text(json.dumps(summary, indent=2, default=str))
        print(f"wrote {args.output_json}")


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("numpy", "pandas", "pyarrow", "polars", "duckdb", "featuretools", "woodwork"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


if __name__ == "__main__":
    main()
