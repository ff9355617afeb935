"""Batch scoring of Parquet files in bounded memory, and the one way a model's inputs are shaped.

Rows are read in record batches of the columns the model needs (plus the id columns passed
through), scored, and appended to a temporary Parquet file beside the output, which is renamed onto
the output only when every batch is written: a failure leaves no output file (and an existing one
untouched). Missing feature or id columns are reported, all of them, before anything is written.

The model is any object with ``input_types`` (its signature: column → ``double``, ``string`` …)
and ``predict(frame)``; :mod:`credit_models.tracking.model_loading` loads one from the store.
Monitoring and the comparison shape their inputs with :func:`conform_inputs` too.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm  # text bars: a notebook without ipywidgets shows them too

from credit_models.errors import ConfigError
from credit_models.labels.default_label import DefaultDefinition
from credit_models.workflows.settings import EngineKind, EngineSettings, FeaturesSettings

MODEL_COLUMNS = ("model_uri", "model_version")
"""Which model scored each row: the URI as given, and the registered version it resolved to."""
_SHOWN = 20
_NUMERIC = {"double": "float64", "float": "float32", "long": "int64", "integer": "int32"}


class ScoringInputError(ValueError):
    """The input cannot be scored (no Parquet files, columns missing); nothing was written."""


class ModelInputRefused(ValueError):
    """The model refused its inputs (a value outside its feature contract)."""


class ScoringModel(Protocol):
    """A loaded PD model as the workflows use it."""

    @property
    def output_columns(self) -> tuple[str, ...]:
        """The columns ``predict`` returns, all numbers (``probability_of_default``, ``score``)."""

    @property
    def input_types(self) -> Mapping[str, str] | None:
        """Column → signature type name, in signature order; None when it has no signature."""

    @property
    def uri(self) -> str:
        """The URI as given."""

    @property
    def version(self) -> str | None:
        """The registered version it resolved to (None for a run's model)."""

    def predict(self, inputs: pd.DataFrame) -> pd.DataFrame:
        """``probability_of_default`` and ``score`` per row; :class:`ModelInputRefused` when a
        value breaks the model's contract."""


@dataclass(frozen=True)
class StoreSettings:
    """The MLflow store a job reads its model from."""

    tracking_uri: str = "sqlite:///mlflow.db"
    """The store that holds the registered model; a relative sqlite path is resolved against the
    working directory at start-up."""
    telemetry: bool = False
    """Let MLflow send its anonymous usage telemetry (off unless opted in)."""


@dataclass(frozen=True)
class ScoreSettings:
    """``credit-models-score``'s settings and Hydra schema (``conf/score.yaml``)."""

    model_uri: str = "models:/pd_xgb@champion"
    """``models:/<name>@<alias>``, ``models:/<name>/<version>`` or ``runs:/<run id>/model``."""
    input: str = "???"
    """A Parquet file, or a folder of them (read in sorted path order)."""
    output: str = "???"
    """The Parquet file written: id columns, probability_of_default, score, model_uri/version."""
    batch_rows: int = 100_000
    """Rows scored at a time: bounds memory; the output does not depend on it."""
    id_columns: list[str] = field(default_factory=lambda: ["customer_id", "as_of"])
    """Copied from the input to the output unchanged, row for row."""
    show_progress: bool = True
    mlflow: StoreSettings = field(default_factory=StoreSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    """``local``: ``input`` is a scoring batch, scored here. ``dask``: ``input`` is a
    customer-partitioned data set, whose batch at ``as_of`` (``features``, ``labels``: as
    ``credit-models-data batch`` takes them) is built and scored on the cluster and written to the
    folder ``output``, one part file per partition
    (:mod:`credit_models.workflows.distributed.scoring`)."""
    as_of: Any = None
    """engine=dask: one snapshot date (``2025-01-01``) or a list."""
    features: FeaturesSettings = field(default_factory=FeaturesSettings)
    """engine=dask: the feature spec the model was trained with."""
    labels: DefaultDefinition = field(default_factory=DefaultDefinition)
    """engine=dask: the default definition that tells who is already bad at as_of (left out)."""
    contributions_output: str | None = None
    """engine=dask: also write each row's contributions (log-odds of bad) to this folder."""

    def __post_init__(self) -> None:
        check_batch_rows(self.batch_rows)
        if self.engine.kind is EngineKind.dask:
            from credit_models.workflows.scoring_batch import snapshot_dates

            if self.as_of is None:
                raise ConfigError("engine=dask scores a data set at a snapshot: give as_of "
                                  "(as_of=2025-01-01)")
            snapshot_dates(self.as_of)
        elif self.as_of is not None or self.contributions_output is not None:
            raise ConfigError("as_of and contributions_output apply to engine=dask (which "
                              "builds the batch from a data set); the local engine scores a "
                              "batch file as it is")


@dataclass(frozen=True)
class ScoringResult:
    rows: int
    seconds: float
    output: Path
    files: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / max(self.seconds, 1e-9)

    def summary(self) -> str:
        return (f"Scored {self.rows:,} rows from {self.files} file(s) in {self.seconds:.1f}s "
                f"({self.rows_per_second:,.0f} rows/s) → {self.output}")


def _listed(values: Sequence[Any]) -> str:
    shown = ", ".join(str(value) for value in values[:_SHOWN]) if values else "none"
    return shown + (f", … ({len(values)} in all)" if len(values) > _SHOWN else "")


def check_batch_rows(batch_rows: Any) -> int:
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise ConfigError(f"batch_rows must be an integer >= 1; got {batch_rows!r}")
    return batch_rows


def required_input_types(model: ScoringModel) -> Mapping[str, str]:
    """The model's signature; a model without one cannot be fed by column name."""
    if model.input_types is None:
        raise ScoringInputError(
            "the model has no input signature naming its columns; log it with signature=… "
            "(credit_models.tracking.pd_run does)"
        )
    return model.input_types


def conform_inputs(frame: pd.DataFrame, types: Mapping[str, str]) -> pd.DataFrame:
    """The columns of ``types`` from ``frame``, in that order, as the signature expects them:
    numbers as floats (integers widen, missing stays NaN), strings as Python strings or None
    (categories become their labels). A value that cannot be converted is an error naming the
    column."""
    missing = [name for name in types if name not in frame.columns]
    if missing:
        raise ValueError(f"input lacks {len(missing)} model feature(s): {_listed(missing)}")
    columns: dict[str, Any] = {}
    for name, kind in types.items():
        values = frame[name]
        try:
            if kind in ("double", "float"):
                columns[name] = pd.to_numeric(values, errors="raise").astype(_NUMERIC[kind])
            elif kind == "string":
                known = values.notna().to_numpy()
                text = np.full(len(values), None, dtype=object)
                text[known] = values[known].astype("str").to_numpy(dtype=object)
                columns[name] = pd.Series(text, index=frame.index, name=name)
            else:
                columns[name] = values
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"column {name!r} cannot be read as the model's {kind} input: {error}"
            ) from None
    return pd.DataFrame(columns, index=frame.index)


def predict_frame(model: ScoringModel, frame: pd.DataFrame) -> pd.DataFrame:
    """The model's outputs on a frame holding (at least) its features."""
    types = model.input_types
    return model.predict(frame if types is None else conform_inputs(frame, types))


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


def output_schema(id_types: dict[str, pa.DataType], outputs: Sequence[str]) -> pa.Schema:
    return pa.schema(
        [pa.field(name, kind) for name, kind in id_types.items()]
        + [pa.field(name, pa.float64()) for name in outputs]
        + [pa.field(name, pa.string()) for name in MODEL_COLUMNS]
    )


def batch_inputs(batch: pa.RecordBatch, types: Mapping[str, str]) -> pd.DataFrame:
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


def score_batch(model: ScoringModel, types: Mapping[str, str], batch: pa.RecordBatch,
                id_columns: Sequence[str], schema: pa.Schema) -> pa.RecordBatch:
    """One batch's output: its id columns as read, the model's outputs, and which model."""
    scored = model.predict(batch_inputs(batch, types))
    rows = batch.num_rows
    arrays = [batch.column(name) for name in id_columns]
    arrays += [pa.array(np.asarray(scored[name], dtype=np.float64))
               for name in model.output_columns]
    arrays += [pa.repeat(pa.scalar(value, pa.string()), rows)
               for value in (model.uri, model.version)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def score_parquet(
    model: ScoringModel,
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
    check_batch_rows(batch_rows)
    id_columns = list(id_columns)
    types = required_input_types(model)
    clash = [name for name in id_columns if name in (*model.output_columns, *MODEL_COLUMNS)]
    if clash:
        raise ConfigError(f"id_columns {clash} clash with the output columns")
    files = parquet_files(Path(input_path))
    schema = output_schema(check_input_columns(files, list(types), id_columns),
                           model.output_columns)
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
                    scored = score_batch(model, types, batch, id_columns, schema)
                except ModelInputRefused as error:
                    raise ScoringInputError(
                        f"{input_path}: the model refused rows {rows:,} to "
                        f"{rows + batch.num_rows - 1:,} (row positions below count from row "
                        f"{rows:,}; nothing was written): {error}") from None
                writer.write_batch(scored)
                rows += batch.num_rows
                progress.update(batch.num_rows)
        os.replace(partial, output_path)
    finally:
        partial.unlink(missing_ok=True)
    return ScoringResult(rows, time.perf_counter() - started, output_path, len(files))


def score_input(model: ScoringModel, settings: ScoreSettings) -> ScoringResult:
    """``credit-models-score``'s work once the model is loaded."""
    return score_parquet(model, Path(settings.input), Path(settings.output),
                         batch_rows=settings.batch_rows, id_columns=settings.id_columns,
                         show_progress=settings.show_progress)
