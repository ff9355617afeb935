"""The registry's two actions on a job's settings: compare a challenger with the champion, and
promote it behind the gate. What ``credit-models-compare`` and ``credit-models-promote`` run,
printing nothing, and what a notebook calls (``credit_models.compare_version``,
``credit_models.promote_version`` on ``load_settings("compare" | "promote", [...])``).

They live here, above tracking, because they wire both sides: the store is read and written by
:mod:`credit_models.tracking.comparison_run` and :mod:`credit_models.tracking.promotion_run`,
the comparison and the gate are computed by :mod:`credit_models.workflows.comparison` and
:mod:`credit_models.workflows.promotion` (tracking takes only their result types).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from credit_models.tracking import comparison_run, promotion_run
from credit_models.tracking.comparison_run import ComparisonResult
from credit_models.tracking.model_loading import connect
from credit_models.tracking.promotion_run import PromotionResult
from credit_models.workflows.comparison import CompareSettings, compare_versions
from credit_models.workflows.promotion import PromoteSettings, decide_promotion


def compare_version(settings: CompareSettings) -> ComparisonResult:
    """The champion against a challenger on the same rows, both scored now (never the metrics
    their training runs logged), logged as a comparison run.

    ``result.comparison.table`` holds champion, challenger, delta and the better one per metric.
    No champion yet raises :class:`~credit_models.tracking.comparison_run.NoChampionError`; a bad
    reference or missing features a :class:`~credit_models.workflows.comparison.ComparisonError`
    or a registry error."""
    client = connect(settings.mlflow.tracking_uri)
    champion, challenger = comparison_run.resolve_references(client, settings)
    with tempfile.TemporaryDirectory() as scratch:
        stored = comparison_run.load_versions(client, champion, challenger, Path(scratch))
        comparison = compare_versions(*stored, settings)
    return comparison_run.log_comparison_run(settings, comparison)


def promote_version(settings: PromoteSettings) -> PromotionResult:
    """Compare the challenger with the champion, evaluate the gate, and promote when every rule
    passes (or when forced), in one all-or-nothing registry change.

    A failed gate is a result (``decision="rejected"``, ``exit_code`` 1, nothing moved), not an
    error; ``result.gate_table()`` shows each rule. No champion without ``force``, a bad reference
    or missing features raise, as in :func:`compare_version`."""
    client = connect(settings.mlflow.tracking_uri)
    versions = promotion_run.promotion_versions(client, settings)
    if versions.unchanged is not None:
        return versions.unchanged
    comparison = None
    if versions.champion is not None:
        with tempfile.TemporaryDirectory() as scratch:
            stored = comparison_run.load_versions(client, versions.champion, versions.challenger,
                                                  Path(scratch))
            comparison = compare_versions(*stored, settings)
    decision = decide_promotion(comparison, settings)
    return promotion_run.record_promotion(client, settings, versions, decision)
