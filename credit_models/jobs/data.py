"""`credit-models-data ACTION [overrides]`: generate a simulated portfolio, convert a public data
set, or validate a data set folder against the contract.

`credit-models-data validate data=parquet data.path=/my/tables` prints every violation and exits
non-zero when there is one.
"""

from __future__ import annotations

import logging
import sys

from omegaconf import DictConfig

from credit_models.config.schema import DataAction, DataJobConfig
from credit_models.jobs.runner import USAGE_EXIT_CODE, job_entry

logger = logging.getLogger("credit_models.data")

ACTIONS = [action.value for action in DataAction]


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
    dataset = load_dataset(data, strict=False)
    for name in unknown_table_files(dataset.path):
        print(f"ignored: {name} is not a table of the contract")
    print(dataset.report.describe())
    return 0 if dataset.report.ok else 1


@job_entry("data_job", program="credit-models-data")
def _hydra_entry(settings: DataJobConfig, cfg: DictConfig) -> None:
    code = run_data_job(settings)
    if code:
        sys.exit(code)


def main() -> None:
    """Accept the action as a plain first word (`credit-models-data validate …`)."""
    if len(sys.argv) > 1 and "=" not in sys.argv[1] and not sys.argv[1].startswith("-"):
        action = sys.argv.pop(1)
        if action not in ACTIONS:
            print(f"credit-models-data: error: unknown action {action!r}; choose one of "
                  f"{ACTIONS}", file=sys.stderr)
            sys.exit(USAGE_EXIT_CODE)
        sys.argv.append(f"action={action}")
    _hydra_entry()


if __name__ == "__main__":
    main()
