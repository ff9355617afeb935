"""Batch scores and contributions of a customer-partitioned data set on a Dask cluster
(``credit-models-score engine=dask``).

Each customer partition's scoring batch is built on a worker by
:func:`~credit_models.workflows.scoring_batch.partition_batch` (the local batch's own steps) and
scored by :func:`~credit_models.workflows.scoring.score_batch` (the local score job's own
function), with the model sent to every worker once. So a row's scores equal the local jobs'
(``credit-models-data batch`` then ``credit-models-score``) for the same customer and as_of.

XGBoost contributions come from ``xgboost.dask.predict(..., pred_contribs=True)`` on the
partitioned model inputs; a scorecard's are its own ``coefficient x WoE``, partition by partition.

The output is a folder of Parquet part files, one per customer partition (``part-00000.parquet``
…), written into a hidden staging folder beside it and moved into place whole, with the toolkit's
marker listing its files: an existing folder is replaced only when this job wrote it.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from credit_models.data.folders import (
    PARTS_MARKER_NAME,
    describe_names,
    entries_not_written_by,
    replace_folder,
    staging_folder,
    write_marker,
)
from credit_models.errors import OutputFolderError, TrainingDataError
from credit_models.explain.contributions import BIAS_COLUMN, scorecard_contributions, tree_range
from credit_models.features.spec import FeatureSpec
from credit_models.labels.default_label import DefaultDefinition
from credit_models.workflows.scoring import (
    MODEL_COLUMNS,
    ModelInputRefused,
    ScoreSettings,
    ScoringInputError,
    ScoringModel,
    output_schema,
    required_input_types,
    score_batch,
)
from credit_models.workflows.scoring_batch import partition_batch

if TYPE_CHECKING:
    import dask.array as da
    import dask.dataframe as dd
    import xgboost as xgb
    from distributed import Client, Future

    from credit_models.workflows.distributed.partitions import CustomerPartitions

logger = logging.getLogger("credit_models.score")

SCORES_WRITER = "distributed_scores"
"""The marker's writer: an output folder that carries it may be replaced by a later run."""
CONTRIBUTIONS_WRITER = "distributed_contributions"
MARKER_NAME = PARTS_MARKER_NAME
"""The output folder's marker: its writer, its part files and what they were computed from."""


def part_name(index: int) -> str:
    """The part file of the ``index``-th customer partition (partition order)."""
    return f"part-{index:05d}.parquet"


@dataclass(frozen=True)
class BatchPlan:
    """What every partition computes: the snapshots, the feature spec, the population's label
    definition (who is already bad or inactive) and the data set's extraction date."""

    dates: list[pd.Timestamp]
    spec: FeatureSpec
    labels: DefaultDefinition
    extraction: pd.Timestamp
    chunk_customers: int = 10_000


def _partition_rows(name: str, partitions: CustomerPartitions, plan: BatchPlan) -> pd.DataFrame:
    frame, _ = partition_batch(partitions.read_partition(name), plan.dates, plan.spec,
                               plan.labels, plan.extraction,
                               chunk_customers=plan.chunk_customers)
    return frame


def _empty_rows(name: str, partitions: CustomerPartitions, plan: BatchPlan) -> pd.DataFrame:
    """The batch of no customer (a partition's tables, no row of them): its columns and dtypes,
    the meta of every partition's batch, without computing one."""
    tables = {table: rows.iloc[:0] for table, rows in partitions.read_partition(name).items()}
    return _categories_unknown(partition_batch(tables, plan.dates, plan.spec, plan.labels,
                                               plan.extraction)[0])


def _categories_unknown(frame: pd.DataFrame) -> pd.DataFrame:
    from dask.dataframe.utils import clear_known_categories

    return clear_known_categories(frame)


def batch_frames(client: Client, partitions: CustomerPartitions, plan: BatchPlan) -> dd.DataFrame:
    """The scoring batch, one Dask partition per customer partition (partition order), built
    lazily on the workers: customer_id, as_of and the features, as the local batch has them."""
    import dask.dataframe as dd

    if not partitions.names:
        raise TrainingDataError(f"{partitions.root} has no customer partition to score")
    meta = client.submit(_empty_rows, partitions.names[0], partitions, plan, pure=False).result()
    return dd.from_map(_partition_rows, list(partitions.names), partitions=partitions, plan=plan,
                       meta=meta, label="scoring-batch", enforce_metadata=False)


def _score_partition(frame: pd.DataFrame, model: ScoringModel, *, types: Mapping[str, str],
                     id_columns: list[str], schema: pa.Schema) -> pd.DataFrame:
    columns = list(dict.fromkeys([*id_columns, *types]))
    table = pa.Table.from_pandas(frame[columns], preserve_index=False).combine_chunks()
    try:
        scored = [score_batch(model, types, batch, id_columns, schema)
                  for batch in table.to_batches()]
    except ModelInputRefused as error:
        customers = frame.get("customer_id", frame.index)
        raise ScoringInputError(
            f"the model refused a row of the partition holding customers {customers.min()} to "
            f"{customers.max()} (nothing was written): {error}") from None
    return pa.Table.from_batches(scored, schema=schema).to_pandas()


def score_frames(batch: dd.DataFrame, model: ScoringModel, shared: Future,
                 id_columns: Sequence[str]) -> tuple[dd.DataFrame, pa.Schema]:
    """The scores of every batch row, partition by partition, by the local score job's
    :func:`~credit_models.workflows.scoring.score_batch`, with ``shared`` the model scattered to
    the workers (``client.scatter(model, broadcast=True)``; keep it until the scores are
    computed). Returns the scores and their Arrow schema (the local job's output schema)."""
    id_columns = list(id_columns)
    types = required_input_types(model)
    absent = [name for name in [*id_columns, *types] if name not in batch.columns]
    if absent:
        raise ScoringInputError(
            f"cannot score: the batch lacks {len(absent)} column(s) the model or id_columns need: "
            f"{absent[:20]} (are features= and the model's training features the same?)")
    id_types = {name: field.type for name, field in zip(
        id_columns, pa.Schema.from_pandas(batch._meta[id_columns], preserve_index=False),
        strict=True)}
    schema = output_schema(id_types, model.output_columns)
    meta = schema.empty_table().to_pandas()
    # Lists and dicts given to map_partitions would be read as tasks: they travel in a partial.
    score = partial(_score_partition, types=dict(types), id_columns=id_columns, schema=schema)
    return batch.map_partitions(score, shared, meta=meta, enforce_metadata=False), schema


def xgboost_contributions(client: Client, booster: xgb.Booster, inputs: dd.DataFrame) -> da.Array:
    """TreeSHAP by ``xgboost.dask.predict(pred_contribs=True)`` on the partitioned model inputs
    (the trees up to ``best_iteration``, as the model predicts): a persisted Dask array, one
    block of rows per partition, the features' columns then the bias."""
    import xgboost.dask as dxgb
    from distributed import wait

    matrix = dxgb.DaskDMatrix(client, inputs, enable_categorical=True)
    values = client.persist(dxgb.predict(client, booster, matrix, pred_contribs=True,
                                         iteration_range=tree_range(booster)))
    # Computed while the matrix lives: its partitions go with it, and the prediction needs them.
    wait(values)
    return values


def _contribution_rows(ids: pd.DataFrame, values: np.ndarray, columns: list[str]) -> pd.DataFrame:
    values = np.asarray(values, dtype=np.float64).reshape(len(ids), len(columns))
    frame = pd.DataFrame(values, columns=columns)
    return pd.concat([ids.reset_index(drop=True), frame], axis=1)


def _scorecard_rows(frame: pd.DataFrame, *, scorecard: Any, contract: list[dict[str, Any]],
                    id_columns: list[str]) -> pd.DataFrame:
    from credit_models.models.input_contract import typed_inputs

    contributions = scorecard_contributions(scorecard, typed_inputs(contract, frame))
    return pd.concat([frame[id_columns].reset_index(drop=True),
                      contributions.with_bias().reset_index(drop=True)], axis=1)


def contribution_frames(client: Client, batch: dd.DataFrame, family: str, estimator: Any,
                        contract: list[dict[str, Any]],
                        id_columns: Sequence[str]) -> tuple[dd.DataFrame, Any]:
    """Per batch row its id columns, each model feature's contribution (log-odds of bad) and the
    base value (``__bias__``): XGBoost by its Dask predict, a scorecard per partition. Returns
    the frames and what they are computed from on the cluster (XGBoost's persisted
    contributions, or None): keep it until the frames are written, its blocks live as long."""
    import dask
    import dask.dataframe as dd

    from credit_models.models.input_contract import typed_inputs

    id_columns = list(id_columns)
    features = [entry["name"] for entry in contract]
    columns = [*features, BIAS_COLUMN]
    ids_meta = batch._meta[id_columns].reset_index(drop=True)
    meta = pd.concat([ids_meta, pd.DataFrame({name: pd.Series(dtype="float64")
                                              for name in columns})], axis=1)
    if family != "xgboost":
        rows = partial(_scorecard_rows, scorecard=estimator, contract=contract,
                       id_columns=id_columns)
        return batch.map_partitions(rows, meta=meta, enforce_metadata=False), None
    inputs_meta = typed_inputs(contract, batch._meta)
    inputs = batch.map_partitions(partial(typed_inputs, contract), meta=inputs_meta,
                                  enforce_metadata=False)
    values = xgboost_contributions(client, estimator, inputs)
    id_parts = batch[id_columns].to_delayed()
    blocks = values.to_delayed().ravel()
    parts = [dask.delayed(_contribution_rows)(part, block, columns)
             for part, block in zip(id_parts, blocks, strict=True)]
    return dd.from_delayed(parts, meta=meta, verify_meta=False), values


def model_parts(model: Any) -> tuple[str, Any, list[dict[str, Any]]]:
    """The family, estimator (an XGBoost booster or a scorecard) and feature contract of a loaded
    PD pyfunc (:class:`~credit_models.tracking.model_loading.LoadedModel`)."""
    python_model = model.pyfunc.unwrap_python_model()
    return (python_model.family_.value, python_model.estimator_, python_model.contract_)


def check_output_folder(output: Path, writer: str = SCORES_WRITER) -> None:
    """Refuse, before any work, an output that is a file or a folder this job did not write."""
    if not output.exists() and not output.is_symlink():
        return
    if not output.is_dir() or output.is_symlink():
        raise OutputFolderError(
            f"{output} is a {'link' if output.is_symlink() else 'file'}: with engine=dask the "
            "output is a folder of Parquet part files. Nothing was changed. Choose another "
            "output, or move it away.")
    foreign = entries_not_written_by(writer, MARKER_NAME)(output)
    if foreign:
        raise OutputFolderError(
            f"{output} holds {len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'} this job "
            f"did not write ({describe_names(foreign)}): it "
            "replaces only a folder of part files it wrote itself. Nothing was changed. Choose "
            "another output, or move that folder away.")


def write_partitioned(frames: dd.DataFrame, output: Path, schema: pa.Schema | None,
                      writer: str, provenance: dict[str, Any]) -> int:
    """Write one Parquet part file per partition into a staging folder beside ``output``, then
    move it onto ``output`` whole (replacing only a folder ``writer`` wrote). Returns the number
    of part files."""
    check_output_folder(output, writer)
    staging = staging_folder(output)
    try:
        frames.to_parquet(staging, name_function=part_name, write_index=False,
                          write_metadata_file=False, compression="zstd", schema=schema)
        marker = write_marker(staging, writer, str(provenance.get("data_path", "")), provenance,
                              name=MARKER_NAME)
        replace_folder(staging, output, foreign=entries_not_written_by(writer, MARKER_NAME),
                       fix="Choose another output, or move that folder away.")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(marker.entries)


@dataclass(frozen=True)
class DistributedScoringResult:
    """What ``credit-models-score engine=dask`` wrote."""

    rows: int
    seconds: float
    output: Path
    partitions: int
    contributions: Path | None = None

    def summary(self) -> str:
        text = (f"Scored {self.rows:,} rows from {self.partitions} customer partition(s) on Dask "
                f"in {self.seconds:.1f}s → {self.output}/ ({self.partitions} part files)")
        if self.contributions is not None:
            text += f"; contributions → {self.contributions}/"
        return text


def score_partitioned(client: Client, partitions: CustomerPartitions, plan: BatchPlan,
                      model: ScoringModel, output: Path, *,
                      id_columns: Sequence[str] = ("customer_id", "as_of"),
                      contributions_output: Path | None = None,
                      provenance: Mapping[str, Any] | None = None) -> DistributedScoringResult:
    """Build, score and write the batch of every customer partition (see the module's
    docstring); with ``contributions_output``, also each row's contributions."""
    started = time.perf_counter()
    output = Path(output)
    check_output_folder(output)
    if contributions_output is not None:
        check_output_folder(Path(contributions_output), CONTRIBUTIONS_WRITER)
    clash = [name for name in id_columns if name in (*model.output_columns, *MODEL_COLUMNS)]
    if clash:
        raise ScoringInputError(f"id_columns {clash} clash with the output columns")
    batch = client.persist(batch_frames(client, partitions, plan))
    counts = batch.map_partitions(
        lambda frame: frame.groupby("as_of").size(), meta=pd.Series(dtype="int64"),
        enforce_metadata=False).compute()
    per_date = counts.groupby(level=0).sum().reindex(plan.dates, fill_value=0)
    empty = [date.isoformat() for date, rows in per_date.items() if rows == 0]
    if empty:
        raise TrainingDataError(
            f"no customer of {partitions.root} had an open line, was active and not already "
            f"bad at as_of {', '.join(empty)}: nothing to score then")
    details = {"writer": SCORES_WRITER, "model_uri": model.uri, "model_version": model.version,
               "as_of": [date.isoformat() for date in plan.dates], **(provenance or {})}
    shared = client.scatter(model, broadcast=True)      # sent to every worker once
    try:
        scores, schema = score_frames(batch, model, shared, id_columns)
        written = write_partitioned(scores, output, schema, SCORES_WRITER, details)
    finally:
        shared.release()
    explained = None
    if contributions_output is not None:
        family, estimator, contract = model_parts(model)
        frames, computed = contribution_frames(client, batch, family, estimator, contract,
                                               id_columns)
        write_partitioned(frames, Path(contributions_output), None, CONTRIBUTIONS_WRITER,
                          {**details, "writer": CONTRIBUTIONS_WRITER})
        del computed
        explained = Path(contributions_output)
    return DistributedScoringResult(int(per_date.sum()), time.perf_counter() - started, output,
                                    written, explained)


def score_on_cluster(model: ScoringModel, settings: ScoreSettings) -> DistributedScoringResult:
    """``credit-models-score engine=dask``'s work once the model is loaded: open the cluster and
    the partitioned data set, check both can take the job, then :func:`score_partitioned`."""
    from dataclasses import asdict

    from credit_models.errors import ConfigError
    from credit_models.features.spec import parse_feature_spec
    from credit_models.workflows.distributed.cluster import open_cluster
    from credit_models.workflows.distributed.partitions import open_partitioned_dataset
    from credit_models.workflows.distributed.validation import checked_partitions
    from credit_models.workflows.scoring_batch import snapshot_dates

    output = Path(settings.output)
    contributions = (Path(settings.contributions_output) if settings.contributions_output
                     else None)
    check_output_folder(output)                 # before any work: a refusal costs nothing
    if contributions is not None:
        check_output_folder(contributions, CONTRIBUTIONS_WRITER)
    dates = snapshot_dates(settings.as_of)
    partitions = open_partitioned_dataset(str(settings.input))
    extraction = partitions.manifest.extraction_timestamp
    late = [date.isoformat() for date in dates if date > extraction]
    if late:
        raise ConfigError(
            f"as_of {', '.join(late)} is after the data set's extraction date "
            f"{extraction.isoformat()}: choose snapshots up to the extraction date")
    plan = BatchPlan(dates, parse_feature_spec(asdict(settings.features)), settings.labels,
                     extraction, settings.engine.chunk_customers)
    with open_cluster(settings.engine) as (client, info):
        checked_partitions(client, info, partitions, extraction, None)
        return score_partitioned(
            client, partitions, plan, model, output, id_columns=settings.id_columns,
            contributions_output=contributions,
            provenance={"data_path": str(partitions.root), "features": settings.features.name,
                        "cluster": info.as_tags()})
