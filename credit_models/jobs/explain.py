"""`credit-models-explain`: a registered PD model's PD and top reasons for customers at a snapshot.

model URI → the exported model's files (booster or scorecard, calibration, feature contract) →
the customers' feature rows at ``as_of`` (from a feature matrix, by default the one the model's
training run logged, or built from event data) → contributions → reason codes → console and, for a
batch, a Parquet or CSV file. The store is read by :mod:`credit_models.tracking.explanation_sources`,
the rows and reasons are :mod:`credit_models.workflows.explanation`'s; the stages live in
``credit_models/explain``. With ``engine=dask`` a partitioned data set's batch (``source=data``,
no ``customer_ids``) is built and explained on the cluster into a folder of Parquet part files
(:mod:`credit_models.workflows.distributed.explain`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from omegaconf import DictConfig

from credit_models.jobs.runner import job_entry
from credit_models.workflows.explanation import (
    ExplainInputError,
    ExplainResult,
    ExplainSettings,
    explain_customers,
    report_lines,
)
from credit_models.workflows.settings import EngineKind


def run_explain(settings: ExplainSettings) -> ExplainResult:
    """The whole job: returns the explanations (also written to ``output`` when set)."""
    # The stack the job runs on is imported here, not with the module: a config error answers
    # before it loads.
    from credit_models.tracking.explanation_sources import RunSources, load_explained_model
    from credit_models.tracking.model_loading import connect

    connect(settings.tracking_uri)
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        model = load_explained_model(settings.model_uri, scratch)
        sources = RunSources(model.run_id, scratch)
        if settings.engine.kind is EngineKind.dask:
            from credit_models.workflows.distributed.explain import explain_on_cluster

            return explain_on_cluster(settings, model.exported, model.uri, sources)
        return explain_customers(settings, model.exported, model.uri, sources)


@job_entry("explain", usage_errors=(ExplainInputError,))
def main(settings: ExplainSettings, cfg: DictConfig) -> None:
    result = run_explain(settings)
    print(report_lines(result, settings.language, int(settings.print_rows)))


if __name__ == "__main__":
    main()
