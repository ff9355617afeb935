"""Entry points: simulate a portfolio in memory, or chunk by chunk into a data set folder.

The folder is written into a staging folder beside the target and moved into place at the end,
so a failure never leaves a half-written data set; memory is bounded by ``chunk_size`` customers.
An existing folder is replaced only when the toolkit wrote it; anything else stops the run before
it simulates (see :mod:`credit_models.data.folders`).
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm  # text bars: a notebook without ipywidgets shows them too

from credit_models.data.folders import replace_folder, staging_folder, write_marker
from credit_models.data.io import (
    DatasetManifest,
    PartWriter,
    dataset_folder_check,
    dataset_folder_fix,
    dataset_foreign_entries,
    legacy_layout,
    read_manifest,
    write_manifest,
)
from credit_models.data.simulator.calendar import HorizonCalendar
from credit_models.data.simulator.config import RANDOM_BLOCK_SIZE, SimulatorConfig
from credit_models.data.simulator.oracle import true_default_probability
from credit_models.data.simulator.process import ChunkHistory, ChunkSimulation
from credit_models.data.simulator.tables import SIMULATED_TABLES, contract_tables, truth_frames
from credit_models.data.simulator.truth import SimulationTruth

logger = logging.getLogger(__name__)

SOURCE = "simulator"
TRUTH_FOLDER = "truth"
ORACLE_BAD_DAYS_PAST_DUE = 30
ORACLE_PERFORMANCE_MONTHS = 6
is_legacy_simulated_folder = legacy_layout(SOURCE, {*SIMULATED_TABLES, TRUTH_FOLDER})
"""A folder generated before data sets carried the toolkit's marker: it is still the toolkit's."""


@dataclass(frozen=True)
class SimulatedPortfolio:
    tables: dict[str, pd.DataFrame]
    """The contract tables: customers, orders, bills, repayments, limit_events, declines."""
    truth: SimulationTruth
    manifest: DatasetManifest


@dataclass(frozen=True)
class _Chunk:
    """One simulated chunk; its contract tables are built lazily, one at a time, and must be
    consumed before the next chunk's (ids continue across chunks)."""

    history: ChunkHistory
    calendar: HorizonCalendar
    next_ids: dict[str, int]
    traits: pd.DataFrame
    monthly_states: pd.DataFrame

    def tables(self) -> Iterator[tuple[str, pd.DataFrame]]:
        return contract_tables(self.history, self.calendar, self.next_ids)

    def oracle(self, config: SimulatorConfig) -> pd.DataFrame:
        truth = SimulationTruth(self.traits, self.monthly_states, config)
        return oracle_table(truth, config)


def simulate_portfolio(config: SimulatorConfig) -> SimulatedPortfolio:
    """The whole portfolio in memory (for tests, notebooks and small data sets)."""
    config.validate()
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in SIMULATED_TABLES}
    traits_parts, states_parts = [], []
    for chunk in _simulate(config):
        for name, frame in chunk.tables():
            parts[name].append(frame)
        traits_parts.append(chunk.traits)
        states_parts.append(chunk.monthly_states)
    tables = {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}
    traits = pd.concat(traits_parts, ignore_index=True)
    states = pd.concat(states_parts, ignore_index=True)
    truth = SimulationTruth(traits, states, config)
    truth = dataclasses.replace(truth, default_probability=oracle_table(truth, config))
    counts = {name: len(frame) for name, frame in tables.items()}
    return SimulatedPortfolio(tables=tables, truth=truth, manifest=_manifest(config, counts))


def generate_to_folder(
    config: SimulatorConfig, root: str | Path, show_progress: bool = True
) -> Path:
    """Write the portfolio under ``root`` (contract tables as part folders, ``truth/``,
    ``manifest.json``, then the marker), replacing an older data set the toolkit wrote only once
    everything is written. A folder holding anything else raises :class:`OutputFolderError`
    before simulating, and is left untouched."""
    config.validate()
    root = Path(root)
    dataset_folder_check(root, is_legacy_simulated_folder)
    staging = staging_folder(root)
    progress = tqdm(
        total=config.n_customers, unit="customers", unit_scale=True, desc="simulating",
        disable=not show_progress,
    )
    started = time.perf_counter()
    counts: Counter[str] = Counter()
    try:
        tables_writer = PartWriter(staging)
        truth_root = staging / TRUTH_FOLDER
        (truth_root / "monthly_states").mkdir(parents=True)
        single_files: dict[str, pq.ParquetWriter] = {}
        try:
            for index, chunk in enumerate(_simulate(config)):
                for name, frame in chunk.tables():
                    tables_writer.write({name: frame})
                    counts[name] += len(frame)
                    del frame
                _append(single_files, truth_root / "traits.parquet", chunk.traits)
                chunk.monthly_states.to_parquet(
                    truth_root / "monthly_states" / f"part-{index:05d}.parquet", index=False
                )
                _append(single_files, truth_root / "default_probability.parquet",
                        chunk.oracle(config))
                progress.update(len(chunk.traits))
        finally:
            for writer in single_files.values():
                writer.close()
        manifest = _manifest(config, dict(counts))
        write_manifest(staging, manifest)
        write_marker(staging, SOURCE, SOURCE, manifest.details["config"])
        replace_folder(staging, root, dataset_foreign_entries(is_legacy_simulated_folder),
                       dataset_folder_fix(root))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        progress.close()
    elapsed = time.perf_counter() - started
    logger.info(
        "simulated %s customers in %.1f s into %s: %s", f"{config.n_customers:,}", elapsed, root,
        ", ".join(f"{name} {count:,} ({count / elapsed:,.0f}/s)" for name, count in counts.items()),
    )
    return root


def read_truth(root: str | Path) -> SimulationTruth:
    """The truth written by :func:`generate_to_folder`, with the config from the manifest."""
    root = Path(root)
    manifest = read_manifest(root)
    truth_root = root / TRUTH_FOLDER
    if manifest is None or manifest.source != SOURCE or not truth_root.is_dir():
        raise FileNotFoundError(f"{root} is not a simulated data set with a truth/ folder")
    stored = manifest.details.get("config", {})
    known = {field.name for field in dataclasses.fields(SimulatorConfig)}
    config = SimulatorConfig(**{key: value for key, value in stored.items() if key in known})
    parts = sorted((truth_root / "monthly_states").glob("*.parquet"))
    probability_path = truth_root / "default_probability.parquet"
    return SimulationTruth(
        traits=pd.read_parquet(truth_root / "traits.parquet"),
        monthly_states=pd.concat([pd.read_parquet(part) for part in parts], ignore_index=True),
        config=config,
        default_probability=(
            pd.read_parquet(probability_path) if probability_path.is_file() else None
        ),
    )


def oracle_table(truth: SimulationTruth, config: SimulatorConfig) -> pd.DataFrame:
    """True default probabilities (30+ DPD in 6 months) at every configured oracle date, sorted
    by customer then date (so a chunked file and the in-memory table have the same rows)."""
    frames = [
        true_default_probability(
            truth, as_of, ORACLE_BAD_DAYS_PAST_DUE, ORACLE_PERFORMANCE_MONTHS, config
        ).assign(
            bad_days_past_due=ORACLE_BAD_DAYS_PAST_DUE,
            performance_months=ORACLE_PERFORMANCE_MONTHS,
        )
        for as_of in config.resolved_oracle_as_of()
    ]
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["customer_id", "as_of"], kind="stable", ignore_index=True)


def _simulate(config: SimulatorConfig) -> Iterator[_Chunk]:
    """Chunks in customer order; ids continue across chunks."""
    calendar = HorizonCalendar.build(config)
    next_ids: dict[str, int] = {}
    for first in range(0, config.n_customers, config.chunk_size):
        count = min(config.chunk_size, config.n_customers - first)
        history = ChunkSimulation(config, calendar, first, count).run()
        traits, states = truth_frames(history, calendar)
        yield _Chunk(history, calendar, next_ids, traits, states)


def _manifest(config: SimulatorConfig, row_counts: dict[str, int]) -> DatasetManifest:
    return DatasetManifest(
        extraction_date=config.extraction_date.isoformat(),
        source=SOURCE,
        details={
            "config": asdict(config),
            "random_block_size": RANDOM_BLOCK_SIZE,
            "row_counts": row_counts,
        },
    )


def _append(writers: dict[str, pq.ParquetWriter], path: Path, frame: pd.DataFrame) -> None:
    """Append a chunk as a row group of one Parquet file (all chunks share one schema)."""
    with warnings.catch_warnings():
        # pyarrow reads tz-aware columns through Series.values; pandas' own to_parquet silences
        # the same deprecation notice.
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        table = pa.Table.from_pandas(frame, preserve_index=False)
    writer = writers.get(str(path))
    if writer is None:
        writer = pq.ParquetWriter(path, table.schema)
        writers[str(path)] = writer
    writer.write_table(table)
