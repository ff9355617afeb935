"""`credit-models-score`: score a Parquet file (or a folder of them) with a registered PD model, in
bounded memory.

The job reads the config, loads the model (:mod:`credit_models.tracking.model_loading`) and prints
the summary; the batches, the output schema and the all-or-nothing write are
:func:`credit_models.workflows.scoring.score_parquet`'s.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from credit_models.jobs.runner import job_entry
from credit_models.workflows.scoring import (
    ScoreSettings,
    ScoringInputError,
    ScoringResult,
    score_input,
)
from credit_models.workflows.settings import EngineKind

if TYPE_CHECKING:
    from credit_models.workflows.distributed.scoring import DistributedScoringResult

logger = logging.getLogger("credit_models.score")


def run_scoring(settings: ScoreSettings) -> ScoringResult | DistributedScoringResult:
    """Load the model and score ``input``: here (``engine=local``), or, with ``engine=dask``, a
    customer-partitioned data set's batch at ``as_of`` on the cluster."""
    # The stack the job runs on is imported here, not with the module: a config error answers
    # before it loads.
    from credit_models.tracking.model_loading import connect, load_pd_model

    connect(settings.mlflow.tracking_uri)
    model = load_pd_model(settings.model_uri)
    logger.info("scoring %s with %s (%s)", settings.input, model.resolved.label,
                model.resolved.load_uri)
    if settings.engine.kind is EngineKind.dask:
        from credit_models.workflows.distributed.scoring import score_on_cluster

        return score_on_cluster(model, settings)
    return score_input(model, settings)


@job_entry("score", data_errors=(ScoringInputError,))
def main(settings: ScoreSettings, cfg: DictConfig) -> None:
    print(run_scoring(settings).summary())


if __name__ == "__main__":
    main()
