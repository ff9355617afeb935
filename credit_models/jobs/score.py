"""`credit-models-score`: score a Parquet file (or a folder of them) with a registered PD model, in
bounded memory.

Rows are read in record batches of the columns the model needs (plus the id columns passed
through), scored, and appended to a temporary Parquet file beside the output, which is renamed onto
the output only when every batch is written: a failure leaves no output file (and an existing one
untouched). Missing feature or id columns are reported, all of them, before anything is written.

:func:`score_parquet` is plain Python (a model and paths in, a summary out); the Hydra app at the
bottom only reads the config, loads the model and prints the summary.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PyFuncModel
from omegaconf import DictConfig
from tqdm.auto import tqdm

from credit_models.config.schema import register_configs
from credit_models.jobs.runner import job_entry
from credit_models.tracking.mlflow_tracking import resolve_tracking_uri
from credit_models.tracking.model_loading import (
    ResolvedModel,
    conform_inputs,
    input_column_types,
    load_pd_model,
)
from credit_models.tracking.pd_pyfunc import OUTPUT_COLUMNS

logger = logging.getLogger("credit_models.score")

MODEL_COLUMNS = ("model_uri", "model_version")
"""Which model scored each row: the URI as given, and the registered version it resolved to."""


class ScoringInputError(ValueError):
    """The input cannot be scored (no Parquet files, columns missing); nothing was written."""


@dataclass(frozen=True)
class ScoringResult:
    rows: int
    seconds: float
    output: Path
    files: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / max(self.seconds, 1e-9)


def parquet_files(path: Path) -> list[Path]:
    """``path`` itself, or every ``*.parquet`` under the folder in sorted path order (files whose
    name starts with ``.`` or ``_`` are skipped, as Spark and Arrow write metadata there)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ScoringInputError(f"input {path} does not exist")
    files = sorted(
        file for file in path.rglob("*.parquet")
        if file.is_file() and not any(part.startswith((".", "_"))
                                      for part in file.relative_to(path).parts)
    )
    if not files:
        raise ScoringInputError(f"input folder {path} holds no *.parquet file")
    return files


def check_input_columns(files: Sequence[Path], features: Sequence[str],
                        id_columns: Sequence[str]) -> dict[str, pa.DataType]:
    """Every file must hold every feature and id column; returns the id columns' Arrow types.
    Only the footers are read."""
    problems, id_types = [], {}
    for file in files:
        schema = pq.read_schema(file)
        absent_ids = [name for name in id_columns if name not in schema.names]
        absent = [name for name in features if name not in schema.names]
        if absent_ids:
            problems.append(f"{file}: id column(s) {absent_ids} missing")
        if absent:
            shown = absent[:20] + (["…"] if len(absent) > 20 else [])
            problems.append(f"{file}: {len(absent)} model feature(s) missing: {shown}")
        for name in id_columns:
            if name in schema.names:
                id_types.setdefault(name, schema.field(name).type)
                if schema.field(name).type != id_types[name]:
                    problems.append(f"{file}: id column {name!r} is {schema.field(name).type}, "
                                    f"another file has {id_types[name]}")
    if problems:
        raise ScoringInputError(
            "cannot score: the input lacks columns the model needs (nothing was written)\n  "
            + "\n  ".join(problems[:20])
        )
    return id_types


def record_batches(files: Sequence[Path], columns: Sequence[str],
                   batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The rows of ``files`` in order, ``batch_rows`` at a time (the last batch smaller), reading
    only ``columns``: small row groups are merged, large ones sliced, so each batch is scored at
    the configured size and memory stays at about one batch."""
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    for file in files:
        with pq.ParquetFile(file) as parquet:
            for batch in parquet.iter_batches(batch_size=batch_rows, columns=list(columns)):
                pending.append(batch)
                pending_rows += batch.num_rows
                while pending_rows >= batch_rows:
                    table = pa.Table.from_batches(pending).combine_chunks()
                    yield table.slice(0, batch_rows).to_batches()[0]
                    rest = table.slice(batch_rows)
                    pending = rest.to_batches() if rest.num_rows else []
                    pending_rows = rest.num_rows
    if pending_rows:
        yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]


def output_schema(id_types: dict[str, pa.DataType]) -> pa.Schema:
    return pa.schema(
        [pa.field(name, kind) for name, kind in id_types.items()]
        + [pa.field(name, pa.float64()) for name in OUTPUT_COLUMNS]
        + [pa.field(name, pa.string()) for name in MODEL_COLUMNS]
    )


def batch_inputs(batch: pa.RecordBatch, types: dict[str, str]) -> pd.DataFrame:
    """The model's input frame straight from Arrow: numbers (``double`` in the signature) as
    float64, integers widened and nulls NaN, written into one 2-D block (no further copy); text
    (dictionary-encoded or not) as Python strings or None. Other signature types go through
    :func:`conform_inputs`."""
    if any(kind not in ("double", "string") for kind in types.values()):
        return conform_inputs(batch.select(list(types)).to_pandas(), types)
    numbers = [name for name, kind in types.items() if kind == "double"]
    position = {name: index for index, name in enumerate(numbers)}
    block = np.empty((len(numbers), batch.num_rows), dtype=np.float64)
    texts: dict[str, np.ndarray] = {}
    for name, kind in types.items():
        column = batch.column(name)
        try:
            if kind == "double":
                block[position[name]] = pc.cast(column, pa.float64()).to_numpy(
                    zero_copy_only=False)
            else:
                texts[name] = pc.cast(column, pa.string()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ScoringInputError(
                f"column {name!r} ({column.type}) cannot be read as the model's {kind} input: "
                f"{error}"
            ) from None
    frame = pd.DataFrame(block.T, columns=numbers, copy=False)
    for name, values in texts.items():
        frame[name] = values
    return frame


def score_batch(model: PyFuncModel, types: dict[str, str], batch: pa.RecordBatch,
                id_columns: Sequence[str], resolved: ResolvedModel,
                schema: pa.Schema) -> pa.RecordBatch:
    """One batch's output: its id columns as read, the model's outputs, and which model."""
    inputs = batch_inputs(batch, types)
    scored = model.predict(inputs)
    rows = batch.num_rows
    arrays = [batch.column(name) for name in id_columns]
    arrays += [pa.array(np.asarray(scored[name], dtype=np.float64)) for name in OUTPUT_COLUMNS]
    arrays += [pa.repeat(pa.scalar(value, pa.string()), rows)
               for value in (resolved.uri, resolved.version)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def score_parquet(
    model: PyFuncModel,
    resolved: ResolvedModel,
    input_path: Path,
    output_path: Path,
    *,
    batch_rows: int = 100_000,
    id_columns: Sequence[str] = ("customer_id", "as_of"),
    show_progress: bool = False,
) -> ScoringResult:
    """Score every row of ``input_path`` (a Parquet file or folder) into ``output_path``: the id
    columns, ``probability_of_default``, ``score``, ``model_uri`` and ``model_version``, one row per
    input row in input order. The output appears whole or not at all."""
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise ValueError(f"batch_rows must be an integer >= 1; got {batch_rows!r}")
    id_columns = list(id_columns)
    types = input_column_types(model)
    clash = [name for name in id_columns if name in (*OUTPUT_COLUMNS, *MODEL_COLUMNS)]
    if clash:
        raise ValueError(f"id_columns {clash} clash with the output columns")
    files = parquet_files(Path(input_path))
    schema = output_schema(check_input_columns(files, list(types), id_columns))
    total = sum(pq.ParquetFile(file).metadata.num_rows for file in files)
    columns = list(dict.fromkeys([*id_columns, *types]))

    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    partial = output_path.with_name(f".{output_path.name}.{uuid.uuid4().hex[:12]}.partial")
    started = time.perf_counter()
    rows = 0
    try:
        with pq.ParquetWriter(partial, schema, compression="zstd") as writer, \
                tqdm(total=total, unit="rows", unit_scale=True, desc="scoring",
                     disable=not show_progress) as progress:
            for batch in record_batches(files, columns, batch_rows):
                try:
                    scored = score_batch(model, types, batch, id_columns, resolved, schema)
                except MlflowException as error:
                    if error.error_code != "INVALID_PARAMETER_VALUE":
                        raise
                    raise ScoringInputError(
                        f"{input_path}: the model refused rows {rows:,} to "
                        f"{rows + batch.num_rows - 1:,} (row positions below count from row "
                        f"{rows:,}; nothing was written): {error.message}") from None
                writer.write_batch(scored)
                rows += batch.num_rows
                progress.update(batch.num_rows)
        os.replace(partial, output_path)
    finally:
        partial.unlink(missing_ok=True)
    return ScoringResult(rows, time.perf_counter() - started, output_path, len(files))


def run_scoring(cfg: DictConfig) -> ScoringResult:
    tracking_uri = resolve_tracking_uri(cfg.mlflow.tracking_uri, Path.cwd())
    mlflow.set_tracking_uri(tracking_uri)
    model, resolved = load_pd_model(cfg.model_uri)
    logger.info("scoring %s with %s (%s)", cfg.input, resolved.label, resolved.load_uri)
    return score_parquet(
        model, resolved, Path(cfg.input), Path(cfg.output), batch_rows=cfg.batch_rows,
        id_columns=list(cfg.id_columns), show_progress=cfg.show_progress,
    )


def summary_line(result: ScoringResult) -> str:
    return (f"Scored {result.rows:,} rows from {result.files} file(s) in {result.seconds:.1f}s "
            f"({result.rows_per_second:,.0f} rows/s) → {result.output}")


register_configs()


@job_entry("score", data_errors=(ScoringInputError,))
def main(cfg: DictConfig) -> None:
    print(summary_line(run_scoring(cfg)))


if __name__ == "__main__":
    main()
