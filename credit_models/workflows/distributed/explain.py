"""The reasons of a customer-partitioned data set's batch on a Dask cluster
(``credit-models-explain engine=dask source=data output=<folder>``).

Each customer partition's rows at ``as_of`` are built on a worker by
:func:`~credit_models.workflows.explanation.rows_at` (the local job's own rows: customers signed
up before ``as_of``, features by the spec) and explained there by
:func:`~credit_models.explain.local_explanations.explain_rows` with what the job settled once (the
dictionary, reference values, descriptions), the model sent to every worker once. So a customer's
reasons equal the local job's for the same data set and ``as_of``.

The output is a folder of Parquet part files, one per customer partition, staged and moved into
place whole with a marker, by :func:`~credit_models.workflows.distributed.scoring.
write_partitioned`: an existing folder is replaced only when this job wrote it. Only the customers
the console prints come back to this machine.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from credit_models.explain.exported_model import ExportedModel
from credit_models.explain.local_explanations import RowExplanations, explain_rows
from credit_models.explain.reason_codes import ReasonDictionary
from credit_models.features.sensitive import SensitiveAttributes
from credit_models.features.spec import FeatureSpec
from credit_models.workflows.distributed.scoring import check_output_folder, write_partitioned
from credit_models.workflows.explanation import (
    ExplainInputError,
    ExplainResult,
    ExplainSettings,
    ExplainSources,
    ReasonTableForm,
    feature_spec,
    matrix_path,
    reason_table,
    reference_from_matrix,
    rows_at,
)

if TYPE_CHECKING:
    from distributed import Client, Future

    from credit_models.workflows.distributed.partitions import CustomerPartitions

logger = logging.getLogger("credit_models.explain")

EXPLANATIONS_WRITER = "distributed_explanations"
"""The marker's writer: an output folder that carries it may be replaced by a later run."""


@dataclass(frozen=True)
class ExplainPlan:
    """What every partition's explanation uses, settled once by the job and sent with the task."""

    as_of: pd.Timestamp
    spec: FeatureSpec
    dictionary: ReasonDictionary
    top_k: int
    language: str
    method: str
    sensitive: SensitiveAttributes | None
    descriptions: dict[str, str]
    """The model's own feature texts; they win over the spec's where not empty."""
    reference: pd.Series | None
    form: ReasonTableForm
    model_uri: str
    chunk_customers: int = 10_000


def explain_partition(tables: dict[str, pd.DataFrame], plan: ExplainPlan,
                      exported: ExportedModel) -> RowExplanations:
    """The explanations of one partition's customers at ``plan.as_of``, as the local job makes
    them for the whole data set."""
    rows, built = rows_at(plan.spec, tables, plan.as_of, None, plan.chunk_customers)
    descriptions = {**built, **{key: text for key, text in plan.descriptions.items() if text}}
    return explain_rows(exported.model, exported.inputs(rows), plan.dictionary,
                        top_k=plan.top_k, language=plan.language, sensitive=plan.sensitive,
                        descriptions=descriptions, reference=plan.reference, method=plan.method)


def _explained(name: str, partitions: CustomerPartitions, plan: ExplainPlan,
               exported: ExportedModel) -> RowExplanations:
    return explain_partition(partitions.read_partition(name), plan, exported)


def _table(explanations: RowExplanations, plan: ExplainPlan) -> pd.DataFrame:
    return reason_table(explanations, plan.form, plan.model_uri)


def _customers(explanations: RowExplanations) -> int:
    return len(explanations.scores)


def _schema(table: pd.DataFrame) -> pa.Schema:
    return pa.Schema.from_pandas(table, preserve_index=False)


def _head(explanations: RowExplanations, rows: int) -> RowExplanations:
    """The first ``rows`` customers' explanations (what the console prints)."""
    scores = explanations.scores.iloc[:rows]
    keys = pd.MultiIndex.from_frame(explanations.reasons[list(scores.index.names)])
    reasons = explanations.reasons[keys.isin(scores.index)]
    contributions = explanations.contributions
    return RowExplanations(scores=scores, reasons=reasons.reset_index(drop=True),
                           contributions=replace(contributions,
                                                 values=contributions.values.iloc[:rows]),
                           top_k=explanations.top_k)


def _first_customers(client: Client, explained: list[Future], counts: list[int],
                     rows: int) -> RowExplanations | None:
    """The first ``rows`` customers in partition order, gathered from as few partitions as
    needed."""
    heads, left = [], rows
    for future, count in zip(explained, counts, strict=True):
        if left <= 0:
            break
        if count:
            heads.append(client.submit(_head, future, left, pure=False).result())
            left -= count
    if not heads:
        return None
    contributions = heads[0].contributions
    return RowExplanations(
        scores=pd.concat([head.scores for head in heads]),
        reasons=pd.concat([head.reasons for head in heads], ignore_index=True),
        contributions=replace(contributions, values=pd.concat(
            [head.contributions.values for head in heads])),
        top_k=heads[0].top_k)


def explain_partitioned(client: Client, partitions: CustomerPartitions, plan: ExplainPlan,
                        exported: ExportedModel, output: Path, *, print_rows: int = 20,
                        provenance: dict[str, Any] | None = None) -> ExplainResult:
    """Explain every customer partition's batch on the cluster and write the reasons as one
    Parquet part file per partition into ``output`` (see the module's docstring)."""
    import dask
    import dask.dataframe as dd

    output = Path(output)
    check_output_folder(output, EXPLANATIONS_WRITER)
    if not partitions.names:
        raise ExplainInputError(f"{partitions.root} has no customer partition to explain")
    shared = client.scatter(exported, broadcast=True)      # sent to every worker once
    try:
        explained = client.map(_explained, list(partitions.names), partitions=partitions,
                               plan=plan, exported=shared, pure=False)
        counts = client.gather(client.map(_customers, explained, pure=False))
        if not sum(counts):
            raise ExplainInputError(f"no customer of {partitions.root} signed up before as_of "
                                    f"{plan.as_of.date()}")
        tables = client.map(_table, explained, plan=plan, pure=False)
        # Parts without a reason of some rank hold nulls there: the schemas agree once unified.
        schema = pa.unify_schemas(client.gather(client.map(_schema, tables, pure=False)))
        first = next(table for table, count in zip(tables, counts, strict=True) if count)
        meta = client.submit(lambda table: table.iloc[:0], first, pure=False).result()
        details = {"writer": EXPLANATIONS_WRITER, "model_uri": plan.model_uri,
                   "as_of": plan.as_of.isoformat(), "top_k": plan.top_k,
                   "language": plan.language, "output_form": plan.form.value,
                   **(provenance or {})}
        # The part files keep the texts' dtype as the local job writes it, not Dask's own.
        with dask.config.set({"dataframe.convert-string": False}):
            frames = dd.from_delayed(tables, meta=meta, verify_meta=False)
            write_partitioned(frames, output, schema, EXPLANATIONS_WRITER, details)
        head = _first_customers(client, explained, counts, max(int(print_rows), 1))
    finally:
        shared.release()
    assert head is not None     # some partition has customers: checked above
    return ExplainResult(head, plan.model_uri, plan.as_of, output, total=int(sum(counts)))


def explain_on_cluster(settings: ExplainSettings, exported: ExportedModel, model_uri: str,
                       sources: ExplainSources) -> ExplainResult:
    """``credit-models-explain engine=dask``'s work once the model is loaded: settle the spec,
    dictionary and reference values here, open the cluster and the partitioned data set, check
    both can take the job, then :func:`explain_partitioned`."""
    from credit_models.timestamps import utc_timestamp
    from credit_models.workflows.dataset import materialise
    from credit_models.workflows.distributed.cluster import open_cluster
    from credit_models.workflows.distributed.partitions import open_partitioned_dataset
    from credit_models.workflows.distributed.validation import checked_partitions

    output = Path(str(settings.output))
    check_output_folder(output, EXPLANATIONS_WRITER)     # before any work
    as_of = settings.as_of_timestamp
    path = materialise(settings.data, show_progress=False)
    partitions = open_partitioned_dataset(str(path))
    extraction = (utc_timestamp(settings.data.extraction_date) if settings.data.extraction_date
                  else partitions.manifest.extraction_timestamp)
    if as_of > extraction:
        raise ExplainInputError(
            f"as_of {as_of.date()} is after the data's extraction date {extraction.date()} "
            f"({path}): its features would miss events")
    matrix = matrix_path(settings, sources)
    reference = reference_from_matrix(matrix, settings.reference_split, exported.features,
                                      exported)
    if reference is None and settings.reference_split:
        logger.warning("no reference sample: each reason's main text is used whatever the value")
    plan = ExplainPlan(
        as_of=as_of, spec=feature_spec(settings, sources), dictionary=settings.dictionary(),
        top_k=int(settings.top_k), language=settings.language.value,
        method=settings.method.value, sensitive=settings.fairness.sensitive,
        descriptions=dict(exported.descriptions), reference=reference,
        form=ReasonTableForm(settings.output_form), model_uri=model_uri,
        chunk_customers=int(settings.engine.chunk_customers))
    started = time.perf_counter()
    with open_cluster(settings.engine) as (client, info):
        checked_partitions(client, info, partitions, extraction, settings.data.plausibility)
        result = explain_partitioned(
            client, partitions, plan, exported, output, print_rows=int(settings.print_rows),
            provenance={"data_path": str(partitions.root), "cluster": info.as_tags()})
    logger.info(
        "explained %d customers from %d partitions on Dask in %.1fs", result.customers,
        partitions.n_partitions, time.perf_counter() - started)
    return result
