"""A promotion in the store: the versions it is between, read here; the gate's decision
(:func:`credit_models.workflows.promotion.decide_promotion` on the comparison) recorded by a
promotion run (tag ``run_kind=promotion``) that holds the gate table and the comparison, and the
aliases moved in one all-or-nothing registry change
(:func:`credit_models.tracking.registry.apply_registry_changes`).

Checks come first, so a failed gate, an error or an interruption leaves the registry as it was; a
promotion killed at any point (SIGKILL included) is finished by the next promote, compare or alias
move of the model: rolled back to the aliases and tags it recorded before its first write, or
completed when it had made every change; the promotion run's ``decision`` tag and the model's
``last_registry_change`` tag say which.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from credit_models.errors import ConfigError
from credit_models.paths import PACKAGE_DIR
from credit_models.tracking.comparison_run import find_champion, log_comparison, no_champion
from credit_models.tracking.mlflow_tracking import code_version, flatten_params, use_experiment
from credit_models.tracking.registry import (
    PREVIOUS_CHAMPION,
    ModelReference,
    RegistryChanges,
    aliases,
    apply_registry_changes,
    describe_version,
    recover_unfinished_changes,
    require_finished_run,
    resolve,
)
from credit_models.workflows.comparison import Comparison
from credit_models.workflows.promotion import GateDecision, GateRule, PromoteSettings


@dataclass(frozen=True)
class PromotionResult:
    """What a promotion decided and why: the versions, the gate's rules, the comparison they were
    judged on, the promotion run, and the job's exit code."""

    decision: str
    """``promoted``, ``rejected`` (gate failed) or ``unchanged`` (already the champion)."""
    exit_code: int
    message: str
    champion: ModelVersion | None
    """The champion before the promotion."""
    challenger: ModelVersion
    rules: list[GateRule]
    comparison: Comparison | None
    run_id: str | None

    def gate_table(self) -> pd.DataFrame:
        """The gate's rules, one row each (value, threshold, passed), as the promotion run logs
        them; empty when no gate ran (a first champion, or already the champion)."""
        columns = [field.name for field in fields(GateRule)]
        return pd.DataFrame([asdict(rule) for rule in self.rules], columns=columns).set_index("rule")


def promotion_changes(
    name: str, challenger: ModelVersion, champion: ModelVersion | None,
    challenger_reference: ModelReference, champion_alias: str, tags: dict[str, str],
    current_aliases: dict[str, str], run_id: str | None = None,
) -> RegistryChanges:
    """The alias moves and version tags of one promotion, and the state they expect to find."""
    moves: dict[str, str | None] = {champion_alias: str(challenger.version)}
    if champion is not None:
        moves[PREVIOUS_CHAMPION] = str(champion.version)
    if (challenger_reference.alias is not None and challenger_reference.alias != champion_alias
            and current_aliases.get(challenger_reference.alias) == str(challenger.version)):
        moves[challenger_reference.alias] = None     # no longer a challenger: it is the champion
    return RegistryChanges(
        name, aliases=moves, version_tags={str(challenger.version): tags},
        expected_aliases={champion_alias: None if champion is None else str(champion.version)},
        run_id=run_id, decision="promoted",
    )


@dataclass(frozen=True)
class PromotionVersions:
    """The versions a promotion is between, as the registry names them now."""

    champion_alias: str
    challenger_reference: ModelReference
    challenger: ModelVersion
    champion: ModelVersion | None
    """None: the champion alias is not set (a first champion, only with ``force``)."""

    @property
    def unchanged(self) -> PromotionResult | None:
        """The result when the challenger is already the champion: nothing to do."""
        if self.champion is None or self.champion.version != self.challenger.version:
            return None
        message = f"{describe_version(self.challenger)} is already the champion; nothing changed"
        return PromotionResult("unchanged", 0, message, self.champion, self.challenger, [], None,
                               None)


def promotion_versions(client: MlflowClient, settings: PromoteSettings) -> PromotionVersions:
    """The challenger and the current champion, their training runs finished; a promotion of the
    model killed half-way is finished first. No champion without ``force`` is a
    :class:`~credit_models.tracking.comparison_run.NoChampionError`."""
    name = settings.model_name
    champion_reference = ModelReference.of(name, settings.champion)
    if champion_reference.alias is None:
        raise ConfigError(f"champion must be an alias (the one that moves); got "
                          f"{settings.champion!r}")
    champion_alias = champion_reference.alias
    recover_unfinished_changes(client, name)    # a promotion killed half-way is undone first
    challenger_reference = ModelReference.of(name, settings.challenger)
    challenger = resolve(client, challenger_reference)
    champion = find_champion(client, name, champion_alias)
    for version in (challenger, champion):
        if version is not None:
            require_finished_run(client, version)
    versions = PromotionVersions(champion_alias, challenger_reference, challenger, champion)
    if champion is None and not settings.force:
        raise no_champion(client, name, champion_alias, str(challenger.version))
    return versions


def gate_tags(decision: GateDecision) -> dict[str, str]:
    """The gate's verdict as version tags: ``gate`` in words (passed, failed with the failed
    rules, or not run and why), and ``gate_results`` (every rule as JSON) when rules ran."""
    if not decision.rules:
        return {"gate": f"not run: {decision.reason}"[:5000]}
    verdict = ("passed" if not decision.failed else "failed: " + "; ".join(
        rule.describe() for rule in decision.failed))
    return {"gate": verdict[:5000], "gate_results": decision.json()}


def record_promotion(client: MlflowClient, settings: PromoteSettings,
                     versions: PromotionVersions, decision: GateDecision) -> PromotionResult:
    """The promotion run (the settings as its parameters, the gate and the comparison), and the
    registry change when the decision promotes."""
    name, champion_alias = settings.model_name, versions.champion_alias
    challenger, champion = versions.challenger, versions.champion
    rules, comparison, reason = decision.rules, decision.comparison, decision.reason
    use_experiment(settings.mlflow.experiment_name)
    run_name = (f"promote {name} v{challenger.version}"
                + (f" over v{champion.version}" if champion is not None else ""))
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.set_tags({
            "run_kind": "promotion", "model_name": name,
            "challenger_version": str(challenger.version),
            "champion_version": "" if champion is None else str(champion.version),
            "gate_passed": str(decision.passed).lower(),
            "forced": str(decision.forced).lower(),
            "decision": "pending" if decision.promote else "rejected",
            "promotion_reason": reason[:5000],
            **code_version(PACKAGE_DIR),
        })
        mlflow.log_params(flatten_params(asdict(settings)))
        if rules:
            mlflow.log_text(decision.table().to_csv(), "gate/gate_results.csv")
            mlflow.log_metric("gate/passed", float(not decision.failed))
            mlflow.log_metric("gate/failed_rules", float(len(decision.failed)))
        if comparison is not None:
            log_comparison(comparison, settings.bins, decision=decision)
        if not decision.promote:
            # The verdict is visible on the version the gate judged, not only on this run.
            for key, value in {**gate_tags(decision),
                               "gate_run_id": run.info.run_id}.items():
                client.set_model_version_tag(name, str(challenger.version), key, value)
            return PromotionResult("rejected", 1, decision.failure_message(), champion,
                                   challenger, rules, comparison, run.info.run_id)
        tags = {
            "promotion_reason": reason[:5000],
            "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **gate_tags(decision),
            "promotion_run_id": run.info.run_id,
            "promoted_over_version": "" if champion is None else str(champion.version),
        }
        changes = promotion_changes(name, challenger, champion, versions.challenger_reference,
                                    champion_alias, tags, aliases(client, name),
                                    run_id=run.info.run_id)
        try:
            apply_registry_changes(client, changes)     # also sets decision=promoted on the run
        except BaseException:
            mlflow.set_tag("decision", "failed")
            raise
    message = (f"{describe_version(challenger)} is now {champion_alias}"
               + (f"; version {champion.version} is {PREVIOUS_CHAMPION}" if champion else "")
               + f" ({reason})")
    return PromotionResult("promoted", 0, message, champion, challenger, rules, comparison,
                           run.info.run_id)

