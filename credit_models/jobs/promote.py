"""`credit-models-promote`: make a challenger the champion, only when it earns it.

The job runs the comparison of ``credit-models-compare`` (both versions scored now on the same
out-of-time rows), then the gate (``conf/gate/default.yaml``, the rules of
:mod:`credit_models.workflows.promotion`): every rule must pass. When every rule passes, one
registry change moves ``champion`` to the challenger's version, the old champion to
``previous_champion``, removes the ``challenger`` alias from the promoted version, and tags the
version with ``promotion_reason``, ``promoted_at`` and ``gate_results`` (JSON); a promotion run
(tag ``run_kind=promotion``) holds the gate table and the comparison. Checks come first and the
registry change is all or nothing (:mod:`credit_models.tracking.promotion_run`; this job prints
what :func:`credit_models.config.registry_runs.promote_version` did), so a failed gate, an error
or an interruption leaves the registry as it was.

``force=true`` makes a first champion when there is none (no gate possible), or overrides a failed
gate when ``force_reason`` says why. Exit code 0 promoted (or already champion), 1 gate failed,
2 nothing to compare (no champion without force, a bad reference, missing features, force without
a reason, a version whose training run did not finish) or the registry is being changed by another
promotion at the same moment.

A promotion killed at any point (SIGKILL included) is finished by the next promote, compare or
alias move of the model: rolled back to the aliases and tags it recorded before its first write,
or completed when it had made every change; the promotion run's ``decision`` tag and the model's
``last_registry_change`` tag say which.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from credit_models.jobs.runner import job_entry
from credit_models.workflows.comparison import ComparisonError
from credit_models.workflows.promotion import PromoteSettings

if TYPE_CHECKING:
    from credit_models.tracking.promotion_run import PromotionResult


def run_promotion(settings: PromoteSettings) -> PromotionResult:
    """Compare, evaluate the gate, and promote when it passes (or when forced):
    :func:`~credit_models.config.registry_runs.promote_version`, which a notebook calls as
    ``credit_models.promote_version``."""
    # The stack the job runs on is imported here, not with the module: a config error answers
    # before it loads.
    from credit_models.config.registry_runs import promote_version

    return promote_version(settings)


def promote(settings: PromoteSettings) -> int:
    """Run the promotion and print what happened; returns the exit code."""
    from credit_models.reporting.comparison_report import comparison_text

    result = run_promotion(settings)
    if result.comparison is not None:
        print(comparison_text(result.comparison))
    if result.rules:
        print("\nGate:")
        print("\n".join("  " + rule.describe() for rule in result.rules))
    print()
    print(result.message, file=sys.stderr if result.exit_code else sys.stdout)
    if result.run_id:
        print(f"promotion run {result.run_id} (experiment {settings.mlflow.experiment_name})")
    return result.exit_code


@job_entry("promote", usage_errors=(ComparisonError,))
def main(settings: PromoteSettings, cfg: DictConfig) -> None:
    code = promote(settings)
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
