"""`credit-models-compare`: the champion against a challenger on the same out-of-time rows.

Both registered versions are loaded from the registry and score the same rows now: the metrics
are computed fresh, never copied from the training runs (whose test rows, data and code may
differ). By default the rows are the challenger run's test split (tag ``test_split``) of the
feature matrix it logged; ``data.path`` scores a feature matrix of your own. The PSI of each
model's PD is measured from the champion's own development rows (``reference_split``) to the
compared rows, so both models are read against the same reference population.

Prints the metrics side by side and logs a comparison run (tag ``run_kind=comparison``): the table
(CSV and HTML), AUC per month, metrics ``champion/oot_auc``, ``challenger/oot_auc``,
``delta/auc`` …, and one figure with the ROC and calibration curves of both. Exit code 0, or 2 when
there is nothing to compare (no champion yet, a bad reference, missing features, a version whose
training run did not finish). A promotion of the model left unfinished by a killed process is
finished first (see ``credit-models-promote``).

The comparison is :mod:`credit_models.workflows.comparison`'s, the store and the run
:mod:`credit_models.tracking.comparison_run`'s, both wired by
:func:`credit_models.config.registry_runs.compare_version`; this module prints.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from credit_models.jobs.runner import job_entry
from credit_models.workflows.comparison import CompareSettings, ComparisonError

if TYPE_CHECKING:
    from credit_models.tracking.comparison_run import ComparisonResult


def run_comparison(settings: CompareSettings) -> ComparisonResult:
    """The whole job: compare, print nothing, log the comparison run
    (:func:`~credit_models.config.registry_runs.compare_version`, which a notebook calls as
    ``credit_models.compare_version``)."""
    # The stack the job runs on is imported here, not with the module: a config error answers
    # before it loads.
    from credit_models.config.registry_runs import compare_version

    return compare_version(settings)


def compare(settings: CompareSettings) -> int:
    """Run the comparison and print it; returns the exit code (0; a reference that does not
    resolve raises, and the job runner prints it and exits 2)."""
    from credit_models.reporting.comparison_report import comparison_text

    result = run_comparison(settings)
    print(comparison_text(result.comparison))
    print(f"\ncomparison run {result.run_id} (experiment {settings.mlflow.experiment_name})")
    return 0


@job_entry("compare", usage_errors=(ComparisonError,))
def main(settings: CompareSettings, cfg: DictConfig) -> None:
    code = compare(settings)
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
