"""`credit-models-data ACTION [overrides]`: generate a simulated portfolio, convert a public data
set, validate a data set folder against the contract, or write a scoring batch.

`credit-models-data validate data=parquet data.path=/my/tables` prints every violation and exits
non-zero when there is one. `credit-models-data describe describe.output=reports/portfolio`
writes the portfolio's monthly volume, vintage curves and roll rates (CSV and PNG, aggregates
only) into a folder it owns. `credit-models-data batch as_of=2025-01-01
output=data/batches/2025-01.parquet` writes the point-in-time feature matrix of every customer
with an open line at that date (:mod:`credit_models.workflows.scoring_batch`), the input of
`credit-models-score` and `credit-models-monitor`; it composes `conf/data_batch.yaml`, which
takes the train job's data, features and labels groups. `credit-models-data repartition
repartition.source=/my/tables repartition.output=/my/partitioned repartition.partitions=64`
rewrites a data set into customer partitions for `engine=dask`, on the cluster the `engine`
settings open (:mod:`credit_models.workflows.distributed.partitions`).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from credit_models.config.schema import DataAction, DataJobConfig
from credit_models.jobs.runner import USAGE_EXIT_CODE, job_entry
from credit_models.workflows.scoring_batch import ScoringBatchSettings

if TYPE_CHECKING:
    from credit_models.workflows.scoring_batch import ScoringBatch

logger = logging.getLogger("credit_models.data")

BATCH_ACTION = "batch"
BATCH_SCHEMA = "data_batch_schema"
ACTIONS = [*(action.value for action in DataAction), BATCH_ACTION]


def run_data_job(settings: DataJobConfig) -> int:
    """Returns the process exit code: 0 when the data set is valid."""
    # The stack the job runs on is imported here, not with the module: a config error answers
    # before it loads.
    from credit_models.data.io import unknown_table_files
    from credit_models.workflows.dataset import load_dataset, materialise

    action, data = settings.action, settings.data
    if action in (DataAction.generate, DataAction.convert):
        path = materialise(data, show_progress=settings.show_progress)
        print(f"data set written to {path}")
    if action == DataAction.describe:
        return describe(settings)
    if action == DataAction.repartition:
        return repartition(settings)
    dataset = load_dataset(data, strict=False)
    for name in unknown_table_files(dataset.path):
        print(f"ignored: {name} is not a table of the contract")
    print(dataset.report.describe())
    return 0 if dataset.report.ok else 1


def describe(settings: DataJobConfig) -> int:
    """``credit-models-data describe``: the portfolio's aggregates, written as files."""
    from credit_models.reporting.portfolio_files import write_portfolio_description
    from credit_models.workflows.dataset import load_dataset
    from credit_models.workflows.portfolio_description import describe_portfolio

    dataset = load_dataset(settings.data)          # strict: a data set that breaks a rule stops
    description = describe_portfolio(dataset.tables, dataset.extraction_date, settings.describe)
    folder = write_portfolio_description(description, Path(settings.describe.output),
                                         source=dataset.manifest.source)
    print(description.summary())
    print(f"portfolio description written to {folder}")
    return 0


def repartition(settings: DataJobConfig) -> int:
    """``credit-models-data repartition``: the data set rewritten into customer partitions on the
    Dask cluster, then checked as the Dask engine will check it."""
    from credit_models.workflows.distributed.cluster import open_cluster
    from credit_models.workflows.distributed.partitions import (
        check_customer_partitioning,
        check_repartition_target,
        open_partitioned_dataset,
        repartition_dataset,
    )

    options = settings.repartition
    assert options.source is not None and options.output is not None   # checked with the config
    check_repartition_target(options.source, options.output)     # before a cluster is started
    with open_cluster(settings.engine) as (client, _):
        folder = repartition_dataset(client, options.source, options.output, options.partitions)
        partitions = open_partitioned_dataset(str(folder))
        check_customer_partitioning(client, partitions)
    sizes = partitions.table_bytes
    print(f"{partitions.n_partitions} customer partitions written to {folder} (tables of "
          f"{min(sizes) / 2**20:.1f} to {max(sizes) / 2**20:.1f} MiB in memory per partition)")
    return 0


def run_batch_job(settings: ScoringBatchSettings) -> ScoringBatch:
    """``credit-models-data batch``: build and write the scoring batch."""
    from credit_models.workflows.scoring_batch import build_scoring_batch

    return build_scoring_batch(settings)


@job_entry("data_job", program="credit-models-data")
def _hydra_entry(settings: DataJobConfig, cfg: DictConfig) -> None:
    code = run_data_job(settings)
    if code:
        sys.exit(code)


@job_entry("data_batch", program="credit-models-data batch")
def _batch_entry(settings: ScoringBatchSettings, cfg: DictConfig) -> None:
    print(run_batch_job(settings).summary())


def main() -> None:
    """Accept the action as a plain first word (`credit-models-data validate …`)."""
    if len(sys.argv) > 1 and "=" not in sys.argv[1] and not sys.argv[1].startswith("-"):
        action = sys.argv.pop(1)
        if action not in ACTIONS:
            print(f"credit-models-data: error: unknown action {action!r}; choose one of "
                  f"{ACTIONS}", file=sys.stderr)
            sys.exit(USAGE_EXIT_CODE)
        if action == BATCH_ACTION:
            _batch_entry()
            return
        sys.argv.append(f"action={action}")
    elif any(argument == f"action={BATCH_ACTION}" for argument in sys.argv[1:]):
        sys.argv.remove(f"action={BATCH_ACTION}")
        _batch_entry()
        return
    _hydra_entry()


if __name__ == "__main__":
    main()
