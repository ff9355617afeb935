"""The point-in-time feature engine: a declarative spec evaluated for many (customer, as_of) rows.

How it stays fast and leak-free: each event source is sorted once by (customer, time) into one
integer key. For every snapshot and window the events it may see, those dated in
[as_of − latency − window, as_of − latency), form one contiguous slice found by binary search; sums
and counts come from prefix sums (a window they cannot give to 1e-12 of its own sum, as after one
huge earlier amount, is summed over its own slice), maxima and minima from one ``reduceat`` over
the slice bounds.
Nothing at or after the cut-off can enter a slice, by construction. Work proceeds in chunks of
customers, so memory follows the chunk, not the whole history.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm  # text bars: a notebook without ipywidgets shows them too

from credit_models.data.contract import ATTRIBUTE_PREFIX
from credit_models.errors import ConfigError
from credit_models.features.sources import CURED_BILLS, SECONDS_PER_DAY, SOURCES, cured_bills
from credit_models.features.spec import (
    CURRENT_DAYS_PAST_DUE,
    TENURE,
    ZERO_WHEN_EMPTY,
    DerivedSpec,
    FeatureSpec,
    feature_name,
)
from credit_models.labels.delinquency import bill_cure_times, days_past_due_at

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class FeatureMatrix:
    """Features per snapshot, aligned with the snapshots' row order, and what each one means."""

    frame: pd.DataFrame
    descriptions: dict[str, str]

    @property
    def feature_names(self) -> list[str]:
        return list(self.descriptions)


def _seconds(values: pd.Series | pd.Index) -> np.ndarray:
    """Whole seconds since the epoch, floored: order-preserving against whole-second bounds."""
    nanoseconds = pd.DatetimeIndex(values).as_unit("ns").asi8
    return np.floor_divide(nanoseconds, 1_000_000_000)


class _SortedEvents:
    """One source's events for one chunk, keyed by (customer rank, time) in a single int64."""

    def __init__(self, events: pd.DataFrame, customer_ranks: pd.Index, origin: int, span: int):
        rank = customer_ranks.get_indexer(events["customer_id"])
        keep = rank >= 0
        events = events.loc[keep]
        keys = rank[keep].astype(np.int64) * span + (_seconds(events["event_time"]) - origin)
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        self.customer_rank = rank[keep][order]
        self.frame = events.iloc[order].reset_index(drop=True)
        self.seconds = _seconds(self.frame["event_time"])
        # Per column, what every window and statistic of it reuses: the values, their running
        # sums, the NaN-padded array ``reduceat`` reads. Computed once, not once per window.
        self._cache: dict[tuple[str, str | None], object] = {}
        self._ends: tuple[np.ndarray, np.ndarray] | None = None

    def _cached(self, kind: str, column: str | None, compute: Callable[[], Any]) -> Any:
        key = (kind, column)
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def numbers(self, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A numeric column as float64, where it is present, and with missing values as 0."""
        def compute():
            values = self.frame[column].to_numpy(dtype="float64")
            present = ~np.isnan(values)
            return values, present, np.where(present, values, 0.0)
        return self._cached("numbers", column, compute)

    def padded(self, column: str) -> np.ndarray:
        """The column's float64 values with one NaN appended: what ``_range_reduce`` reads."""
        return self._cached("padded", column,
                            lambda: np.append(self.numbers(column)[0], np.nan))

    def bounds(self, row_keys_start: np.ndarray, row_keys_end: np.ndarray):
        """Each row's slice [start, end). Every window of a row ends at its cut-off, so the ends
        are searched once (for the same ``row_keys_end`` object) and reused."""
        start = np.searchsorted(self.keys, row_keys_start, side="left")
        if self._ends is None or self._ends[0] is not row_keys_end:
            self._ends = (row_keys_end, np.searchsorted(self.keys, row_keys_end, side="left"))
        return start, self._ends[1]

    def slice_sums(
        self, values: np.ndarray, start: np.ndarray, end: np.ndarray, key: str | None = None,
    ) -> np.ndarray:
        """Σ values[start:end] per row; ``key`` names ``values`` so that their running sums are
        computed once for every window (None: not kept).

        Fast path: running sums that restart at every customer (a slice never leaves its
        customer, so a sum depends on that customer's events alone, whatever the chunk), one
        subtraction per row. The subtraction cancels the digits of everything before the slice:
        after one order of 1e15 the later small orders come out in steps of 0.125, after ±inf
        as NaN. Rows whose cancellation error may exceed :data:`SUM_RELATIVE_TOLERANCE` of
        their sum are summed again over their own slice, so a sum is exact to its own scale.
        """
        sums = np.zeros(len(start))
        nonempty = end > start
        if not nonempty.any():
            return sums
        first, last = start[nonempty], end[nonempty] - 1
        if values.dtype.kind in "biu":
            inclusive = self._reuse(key, "integer_sums",
                                    lambda: self._running_sums(values.astype(np.int64)))
            sums[nonempty] = inclusive[last] - inclusive[first] + values[first]
            return sums
        inclusive, magnitude, exact = self._reuse(key, "float_sums",
                                                  lambda: self._float_running_sums(values))
        with np.errstate(invalid="ignore", over="ignore"):
            differences = inclusive[last] - (inclusive[first] - values[first])
            if exact:
                sums[nonempty] = differences
                return sums
            # Each running-sum step rounds by at most half an ulp of the running total, itself
            # at most the running total of magnitudes: a bound on the error of the difference.
            error_bound = np.finfo(np.float64).eps * (last - first + 2) * magnitude[last]
            doubtful = ~(error_bound <= SUM_RELATIVE_TOLERANCE * np.abs(differences))
        if doubtful.any():
            differences[doubtful] = _range_reduce(
                np.add, values, first[doubtful], last[doubtful] + 1
            )
        sums[nonempty] = differences
        return sums

    def _reuse(self, key: str | None, kind: str, compute: Callable[[], Any]) -> Any:
        return compute() if key is None else self._cached(kind, key, compute)

    def _float_running_sums(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Running sums of the values and of their magnitudes, and whether every sum is exact."""
        running = self._running_sums(np.column_stack([values, np.abs(values)]))
        inclusive, magnitude = running[:, 0], running[:, 1]
        return inclusive, magnitude, _sums_exactly(values, magnitude)

    def _running_sums(self, values: np.ndarray) -> np.ndarray:
        """Cumulative sums down the events (each column of a 2-D array), restarting at every
        customer."""
        running = pd.DataFrame(values).groupby(self.customer_rank, sort=False).cumsum().to_numpy()
        return running.reshape(values.shape)


SUM_RELATIVE_TOLERANCE = 1e-12
"""Largest relative error a window sum may carry from the fast running-sum path."""

EXACT_INTEGER_LIMIT = float(2**53)
"""Integers below this magnitude are exact in float64, and so are their sums."""


def _sums_exactly(values: np.ndarray, magnitude: np.ndarray) -> bool:
    """True when every running sum is exact: whole numbers (counts, 0/1 flags) whose running
    total of magnitudes stays below 2**53. Their window sums need no error check, even when 0."""
    if len(values) == 0:
        return True
    whole = bool(np.all(np.isfinite(values)) and np.all(np.rint(values) == values))
    return whole and bool(np.nanmax(magnitude) < EXACT_INTEGER_LIMIT)


def _range_reduce(
    ufunc: np.ufunc, values: np.ndarray, start: np.ndarray, end: np.ndarray,
    padded: np.ndarray | None = None,
):
    """``ufunc`` over values[start:end] for every row; NaN where the slice is empty. ``padded``:
    the values with one NaN appended, when the caller keeps them."""
    result = np.full(len(start), np.nan)
    nonempty = end > start
    if not nonempty.any() or len(values) == 0:
        return result
    if padded is None:
        padded = np.append(values, np.nan)
    bounds = np.empty(2 * int(nonempty.sum()), dtype=np.int64)
    bounds[0::2] = start[nonempty]
    bounds[1::2] = end[nonempty]
    result[nonempty] = ufunc.reduceat(padded, bounds)[0::2]
    return result


def _aggregate(
    events: _SortedEvents, column: str | None, function: str, start: np.ndarray,
    end: np.ndarray, cutoff_seconds: np.ndarray,
) -> np.ndarray:
    count = (end - start).astype("float64")
    if function == "count":
        return count
    if len(events.keys) == 0:
        return np.zeros(len(start)) if function in ZERO_WHEN_EMPTY else np.full(len(start), np.nan)
    nonempty = count > 0
    last_position = np.maximum(end - 1, 0)
    if function == "days_since_last":
        elapsed = cutoff_seconds - events.seconds[last_position]
        return np.where(nonempty, elapsed / SECONDS_PER_DAY, np.nan)
    if function == "days_since_first":
        first_position = np.minimum(start, len(events.keys) - 1)
        elapsed = cutoff_seconds - events.seconds[first_position]
        return np.where(nonempty, elapsed / SECONDS_PER_DAY, np.nan)
    if function == "distinct_count":
        return _distinct_count(events.frame[column], start, end)
    if function == "last":
        picked = events.frame[column].to_numpy()[last_position]
        return np.where(nonempty, picked, np.nan)
    values, present, filled = events.numbers(column)
    if function in ("max", "min"):
        ufunc = np.fmax if function == "max" else np.fmin
        return _range_reduce(ufunc, values, start, end, events.padded(column))
    observed = events.slice_sums(present, start, end, key=column).astype("float64")
    if function in ("sum", "mean", "std"):
        sums = events.slice_sums(filled, start, end, key=column)
        if function == "sum":
            return sums
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(observed > 0, sums / observed, np.nan)
        if function == "mean":
            return means
        return _slice_standard_deviation(filled, present, start, end, means, observed)
    raise ConfigError(f"unknown aggregation function {function!r}")


STD_BATCH_EVENTS = 4_000_000
"""Event positions expanded at once for the two-pass standard deviation: bounds its memory."""


def _slice_standard_deviation(
    values: np.ndarray, present: np.ndarray, start: np.ndarray, end: np.ndarray,
    means: np.ndarray, observed: np.ndarray,
) -> np.ndarray:
    """Sample standard deviation per slice, in two passes (mean first, then squared deviations
    from it): the one-pass Σx² − (Σx)²/n formula loses the small variances of large amounts."""
    result = np.full(len(start), np.nan)
    rows = np.flatnonzero(observed > 1)
    lengths = (end - start)[rows]
    batch_ends = np.searchsorted(np.cumsum(lengths), np.arange(
        STD_BATCH_EVENTS, lengths.sum() + STD_BATCH_EVENTS, STD_BATCH_EVENTS), side="right")
    first = 0
    for last in np.unique(np.append(batch_ends, len(rows))):
        batch, batch_lengths = rows[first:last], lengths[first:last]
        first = last
        if len(batch) == 0:
            continue
        owner = np.repeat(np.arange(len(batch)), batch_lengths)
        offsets = np.arange(batch_lengths.sum()) - np.repeat(
            np.cumsum(batch_lengths) - batch_lengths, batch_lengths
        )
        positions = np.repeat(start[batch], batch_lengths) + offsets
        deviation = np.where(present[positions], values[positions] - means[batch][owner], 0.0)
        squares = np.bincount(owner, weights=deviation * deviation, minlength=len(batch))
        result[batch] = np.sqrt(squares / (observed[batch] - 1))
    return result


def _distinct_count(values: pd.Series, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Distinct non-missing values per slice: a value occurs in [start, end) when its first
    position at or after start is before end; one binary search per distinct value."""
    codes, uniques = pd.factorize(values)
    result = np.zeros(len(start))
    for code in range(len(uniques)):
        positions = np.flatnonzero(codes == code)
        following = np.searchsorted(positions, start, side="left")
        found = following < len(positions)
        occurs = found.copy()
        occurs[found] = positions[following[found]] < end[found]
        result += occurs
    return result


def _customer_chunks(snapshots: pd.DataFrame, chunk_customers: int) -> Iterator[np.ndarray]:
    customers = np.unique(snapshots["customer_id"].to_numpy())
    for first in range(0, len(customers), chunk_customers):
        yield customers[first:first + chunk_customers]


def _subset(tables: Mapping[str, pd.DataFrame], customers: np.ndarray):
    return {
        name: frame[frame["customer_id"].isin(customers)] for name, frame in tables.items()
    }


def unavailable_sources(spec: FeatureSpec, tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """Sources whose tables the data set lacks. Only optional contract tables may be absent
    (validation rejects the rest); their features are unknown (NaN), not zero."""
    return sorted({
        aggregate.source for aggregate in spec.aggregates
        if any(table not in tables for table in SOURCES[aggregate.source].required_tables)
    })


def _source_events(spec: FeatureSpec, tables: Mapping[str, pd.DataFrame]):
    absent = set(unavailable_sources(spec, tables))
    needed = {aggregate.source for aggregate in spec.aggregates} - absent
    return {name: SOURCES[name].build(tables) for name in needed}


def _evaluate_chunk(
    spec: FeatureSpec, tables: Mapping[str, pd.DataFrame], snapshots: pd.DataFrame,
    built_in: pd.DataFrame, names: list[str],
) -> np.ndarray:
    """The chunk's features as one float64 array, rows as ``snapshots``, columns as ``names``."""
    customer_ranks = pd.Index(np.unique(snapshots["customer_id"].to_numpy()))
    rows_rank = customer_ranks.get_indexer(snapshots["customer_id"]).astype(np.int64)
    cutoff = _seconds(snapshots["as_of"]) - spec.latency_days * 86_400
    longest = max(
        (w for a in spec.aggregates for w in a.windows if w is not None), default=0
    ) * 86_400
    sources = _source_events(spec, tables)
    times = [_seconds(e["event_time"]) for e in sources.values() if len(e)]
    lowest = min([cutoff.min() - longest, *(t.min() for t in times)]) - 1
    highest = max([cutoff.max(), *(t.max() for t in times)]) + 1
    span = int(highest - lowest + 1)
    if (len(customer_ranks) + 1) * span >= np.iinfo(np.int64).max:
        raise ConfigError("too many customers per chunk for the time span; lower chunk_customers")
    row_base = rows_rank * span
    end_keys = row_base + (cutoff - lowest)

    columns: dict[str, np.ndarray] = {
        name: built_in[name].to_numpy(dtype="float64") for name in built_in.columns
    }
    indexed, indexed_for = None, None
    for aggregate in spec.aggregates:
        events_all = sources.get(aggregate.source)
        for filter_name in aggregate.filters:
            if events_all is None:
                for window in aggregate.windows:
                    for function in aggregate.functions:
                        name = feature_name(aggregate.source, aggregate.column, function,
                                            window, filter_name)
                        columns[name] = np.full(len(snapshots), np.nan)
                continue
            if indexed_for != (aggregate.source, filter_name):
                # Consecutive aggregates of one source and filter share its sorted events.
                indexed = None
                events = events_all
                if filter_name is not None:
                    events = events_all[spec.filters[filter_name].matches(events_all).to_numpy()]
                indexed = _SortedEvents(events, customer_ranks, int(lowest), span)
                indexed_for = (aggregate.source, filter_name)
            for window in aggregate.windows:
                start_keys = row_base if window is None else (
                    row_base + (cutoff - window * 86_400 - lowest)
                )
                start, end = indexed.bounds(start_keys, end_keys)
                for function in aggregate.functions:
                    name = feature_name(aggregate.source, aggregate.column, function, window,
                                        filter_name)
                    columns[name] = _aggregate(
                        indexed, aggregate.column, function, start, end, cutoff
                    )
    del indexed
    for derived in spec.derived:
        columns[derived.name] = _derive(derived, columns)
    values = np.empty((len(snapshots), len(names)), order="F")  # each column contiguous
    for position, name in enumerate(names):
        values[:, position] = columns.pop(name)
    return values


def _derive(derived: DerivedSpec, columns: Mapping[str, np.ndarray]) -> np.ndarray:
    left = np.asarray(columns[derived.inputs[0]], dtype="float64")
    right = np.asarray(columns[derived.inputs[1]], dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        if derived.kind == "ratio":
            return np.where(right != 0, left / right, np.nan)
        if derived.kind == "difference":
            return left - right
    return np.fmax(left, right)


def _built_in_features(
    tables: Mapping[str, pd.DataFrame], snapshots: pd.DataFrame, latency_days: int
) -> pd.DataFrame:
    customers = tables["customers"].set_index("customer_id")
    built = pd.DataFrame(index=snapshots.index)
    built[TENURE] = (
        (snapshots["as_of"] - snapshots["customer_id"].map(customers["signed_up_at"]))
        .dt.total_seconds() / SECONDS_PER_DAY
    )
    current = np.full(len(snapshots), np.nan)
    if "bills" in tables and "repayments" in tables:
        cured = cured_bills(tables)
        for as_of, rows in snapshots.groupby("as_of", sort=False).groups.items():
            cutoff = as_of - pd.Timedelta(days=latency_days)
            dpd = days_past_due_at(cured, cutoff)
            positions = snapshots.index.get_indexer(rows)
            current[positions] = (
                snapshots.loc[rows, "customer_id"].map(dpd).fillna(0.0).to_numpy()
            )
    built[CURRENT_DAYS_PAST_DUE] = current
    return built


def _chunk_inputs(
    tables: Mapping[str, pd.DataFrame], snapshots: pd.DataFrame, customers: np.ndarray,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """A chunk's snapshot rows, ordered by (customer, as_of) so that the binary searches walk
    the sorted events forwards (their index keeps the output positions), and its tables."""
    rows = snapshots[snapshots["customer_id"].isin(customers)]
    as_of = pd.DatetimeIndex(rows["as_of"]).as_unit("ns").asi8
    rows = rows.iloc[np.lexsort((as_of, rows["customer_id"].to_numpy()))]
    return rows, _subset(tables, customers)


def _chunk_values(
    spec: FeatureSpec, chunk_tables: dict[str, pd.DataFrame], rows: pd.DataFrame,
    names: list[str],
) -> np.ndarray:
    """One chunk's features, rows as ``rows``, columns as ``names``: what a worker process runs.
    It reads only the chunk's own tables, so it gives the same values wherever it runs."""
    if "bills" in chunk_tables and "repayments" in chunk_tables:
        chunk_tables[CURED_BILLS] = bill_cure_times(
            chunk_tables["bills"], chunk_tables["repayments"]
        )
    built_in = _built_in_features(chunk_tables, rows, spec.latency_days)
    return _evaluate_chunk(spec, chunk_tables, rows, built_in, names)


def _worker_count(workers: int | None, chunks: int) -> int:
    if workers is None:
        counter: Callable[[], int | None] = getattr(os, "process_cpu_count", os.cpu_count)
        workers = counter() or 1
    elif isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a whole number of at least 1, or None; got {workers!r}")
    return max(1, min(workers, chunks))


WORKER_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() \
    else "spawn"
"""How worker processes start: never a plain fork of a parent that may hold threads and locks
(an MLflow client, a notebook kernel); forkserver where the platform has it, spawn elsewhere."""


class _SentOnce:
    """A chunk's inputs on their way to a worker, let go of as soon as they are pickled.

    The executor keeps a task's arguments until its result arrives; without this the parent
    would hold every chunk in flight twice, once in its own memory and once in the worker's."""

    def __init__(self, *inputs: object) -> None:
        self._inputs: tuple[object, ...] | None = inputs

    def __reduce__(self) -> tuple[type, tuple[tuple[object, ...]]]:
        inputs, self._inputs = self._inputs, None
        if inputs is None:
            raise RuntimeError("a chunk's inputs were pickled twice")
        return tuple, (inputs,)  # the worker receives the plain tuple


def _chunk_values_sent(
    spec: FeatureSpec, inputs: tuple[dict[str, pd.DataFrame], pd.DataFrame], names: list[str],
) -> np.ndarray:
    chunk_tables, rows = inputs
    return _chunk_values(spec, chunk_tables, rows, names)


def _evaluate_in_workers(
    spec: FeatureSpec, tables: Mapping[str, pd.DataFrame], snapshots: pd.DataFrame,
    chunks: list[np.ndarray], names: list[str], block: np.ndarray, workers: int,
    progress: tqdm,
) -> None:
    """Fill ``block`` chunk by chunk in ``workers`` processes, at most one chunk each in flight.

    Each worker is sent its chunk's rows and tables alone (a pickle of the chunk, not of the
    whole data set, released once sent), so the parent's block stays the only full-size array. A worker's error is
    raised here as the same exception, once the chunks still running have stopped."""
    pending: dict[Future, np.ndarray] = {}
    remaining = iter(chunks)
    context = multiprocessing.get_context(WORKER_START_METHOD)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        def submit_next() -> None:
            customers = next(remaining, None)
            if customers is None:
                return
            rows, chunk_tables = _chunk_inputs(tables, snapshots, customers)
            future = pool.submit(_chunk_values_sent, spec, _SentOnce(chunk_tables, rows), names)
            pending[future] = rows.index.to_numpy()

        for _ in range(workers):
            submit_next()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                block[pending.pop(future)] = future.result()
                progress.update()
                submit_next()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def build_features(
    spec: FeatureSpec,
    tables: Mapping[str, pd.DataFrame],
    snapshots: pd.DataFrame,
    chunk_customers: int = 10_000,
    show_progress: bool = False,
    workers: int | None = 1,
) -> FeatureMatrix:
    """Evaluate ``spec`` for every (customer_id, as_of) row of ``snapshots``, in the same order.

    ``workers``: processes evaluating chunks of ``chunk_customers`` side by side; None for one
    per CPU this process may use, never more than there are chunks. A chunk's features depend on
    its customers' events alone, so the values are identical, bit for bit, whatever the number;
    only time and memory change: each worker holds one chunk's tables and work (1, the default,
    evaluates in this process). Workers start fresh (forkserver or spawn, never a fork of this
    process), so a script that asks for more than one needs the ``if __name__ == "__main__":``
    guard.
    """
    as_of_seconds = pd.DatetimeIndex(snapshots["as_of"]).as_unit("ns").asi8
    if len(snapshots) and np.any(as_of_seconds % 1_000_000_000):
        raise ConfigError("snapshot as_of values must be whole seconds")
    started = time.perf_counter()
    absent = unavailable_sources(spec, tables)
    if absent:
        logger.warning(
            "the data set has no table for the feature source(s) %s: their features are missing "
            "(NaN) for every row", absent,
        )
    snapshots = snapshots.reset_index(drop=True)
    descriptions = dict(spec.descriptions)
    names = list(descriptions)
    chunks = list(_customer_chunks(snapshots, chunk_customers))
    workers = _worker_count(workers, len(chunks))
    # One preallocated block receives every chunk, so the peak is the output plus one chunk per
    # worker.
    block = np.full((len(snapshots), len(names)), np.nan)
    with tqdm(total=len(chunks), desc="features by customer chunk", unit="chunk",
              disable=not show_progress) as progress:
        if workers > 1:
            _evaluate_in_workers(spec, tables, snapshots, chunks, names, block, workers,
                                 progress)
        else:
            for customers in chunks:
                rows, chunk_tables = _chunk_inputs(tables, snapshots, customers)
                block[rows.index.to_numpy()] = _chunk_values(spec, chunk_tables, rows, names)
                del chunk_tables
                progress.update()
    columns: dict[str, object] = {}
    if spec.static_attributes:
        customers = tables["customers"].set_index("customer_id")
        for column in customers.columns:
            if not str(column).startswith(ATTRIBUTE_PREFIX):
                continue
            attribute = str(column).removeprefix(ATTRIBUTE_PREFIX)
            name = feature_name("customer", attribute, "value", None)
            values = snapshots["customer_id"].map(customers[column])
            if not pd.api.types.is_numeric_dtype(values):
                values = values.astype("category")
            columns[name] = values
            descriptions[name] = f"application attribute: {attribute.replace('_', ' ')}"
    frame = pd.concat(
        [snapshots[["customer_id", "as_of"]],
         pd.DataFrame(block, columns=names, index=snapshots.index, copy=False),
         pd.DataFrame(columns, index=snapshots.index)],
        axis=1,
    )
    elapsed = time.perf_counter() - started
    logger.info(
        "built %d features for %s snapshots in %.1fs (%.0f snapshots/s)", len(descriptions),
        f"{len(frame):,}", elapsed, len(frame) / max(elapsed, 1e-9),
    )
    return FeatureMatrix(frame=frame, descriptions=descriptions)
