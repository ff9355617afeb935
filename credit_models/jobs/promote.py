"""`credit-models-promote`: make a challenger the champion, only when it earns it.

The job runs the comparison of ``credit-models-compare`` (both versions scored now on the same
out-of-time rows), then the gate (``conf/gate/default.yaml``): every rule must pass —

- ``auc_gain``: challenger AUC − champion AUC ≥ ``min_auc_gain``;
- ``ece_increase``: challenger ECE − champion ECE ≤ ``max_ece_increase``;
- ``challenger_psi``: the challenger's PSI of PD, from the champion's development rows to the
  compared rows, ≤ ``max_psi``;
- ``ks_drop``: champion KS − challenger KS ≤ ``max_ks_drop``;
- ``same_label``: both training runs carry the same ``label`` tag (when ``require_same_label``).

Limits are inclusive; a metric that cannot be computed (NaN) fails its rule. When every rule passes, one registry change
moves ``champion`` to the challenger's version, the old champion to ``previous_champion``, removes
the ``challenger`` alias from the promoted version, and tags the version with ``promotion_reason``,
``promoted_at`` and ``gate_results`` (JSON); a promotion run (tag ``run_kind=promotion``) holds
the gate table and the comparison. Checks come first and the registry change is all or nothing
(:func:`credit_models.tracking.registry.apply_registry_changes`), so a failed gate, an error or an
interruption leaves the registry as it was.

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

import json
import logging
import math
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from omegaconf import DictConfig, OmegaConf

from credit_models.config.schema import GateConfig, register_configs
from credit_models.errors import ConfigError
from credit_models.paths import PACKAGE_DIR
from credit_models.jobs.compare import (
    Comparison,
    ComparisonError,
    NoChampionError,
    check_bins,
    compare_versions,
    comparison_report,
    connect,
    data_settings,
    find_champion,
    log_comparison,
    run_parameters,
)
from credit_models.jobs.runner import job_entry
from credit_models.tracking.mlflow_tracking import code_version
from credit_models.tracking.registry import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS_CHAMPION,
    ModelReference,
    RegistryChanges,
    aliases,
    apply_registry_changes,
    describe_version,
    recover_unfinished_changes,
    registry_state,
    require_finished_run,
    resolve,
)

logger = logging.getLogger("credit_models.promote")

LABEL_TAG = "label"
DIFFERENCE_RULES = frozenset({"auc_gain", "ece_increase", "ks_drop"})
"""Rules on a difference between the two models (shown with a sign)."""
ROUNDING = 1e-12
"""Limits are inclusive; a difference that misses one only by floating-point rounding (0.50 −
0.49 = 0.010000000000000009) meets it."""


@dataclass(frozen=True)
class GateRule:
    """One rule of the gate, as evaluated: the measured value against its threshold."""

    rule: str
    description: str
    value: float | str
    comparison: str
    threshold: float | str
    passed: bool

    def describe(self) -> str:
        """``FAIL auc_gain: challenger AUC − champion AUC = -0.0068 (must be ≥ 0)``."""
        if isinstance(self.value, float):
            value = f"{self.value:+.4f}" if self.rule in DIFFERENCE_RULES else f"{self.value:.4f}"
        else:
            value = self.value
        if isinstance(self.threshold, float):
            condition = f"must be {self.comparison} {self.threshold:g}"
        else:
            condition = self.threshold
        return f"{'pass' if self.passed else 'FAIL'} {self.rule}: {self.description} = {value} " \
               f"({condition})"


def check_gate(gate: GateConfig) -> GateConfig:
    """Thresholds are finite numbers; the ``max_…`` ones are not negative."""
    for key in ("min_auc_gain", "max_ece_increase", "max_psi", "max_ks_drop"):
        value = getattr(gate, key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(f"gate.{key} must be a finite number; got {value!r}")
        if key.startswith("max_") and value < 0:
            raise ConfigError(f"gate.{key} must be >= 0; got {value!r}")
    return gate


def evaluate_gate(
    table: pd.DataFrame, gate: GateConfig, champion_label: str | None,
    challenger_label: str | None,
) -> list[GateRule]:
    """Every rule of the gate on a comparison table (metric × champion/challenger)."""
    check_gate(gate)

    def metric(name: str, role: str) -> float:
        return float(table.loc[name, role]) if name in table.index else math.nan

    def at_most(value: float, limit: float) -> bool:
        return not math.isnan(value) and value <= limit + ROUNDING

    auc_gain = metric("auc", CHALLENGER) - metric("auc", CHAMPION)
    ece_increase = metric("ece", CHALLENGER) - metric("ece", CHAMPION)
    psi = metric("psi_score", CHALLENGER)
    ks_drop = metric("ks", CHAMPION) - metric("ks", CHALLENGER)
    rules = [
        GateRule("auc_gain", "challenger AUC − champion AUC", auc_gain, "≥",
                 float(gate.min_auc_gain),
                 not math.isnan(auc_gain) and auc_gain >= gate.min_auc_gain - ROUNDING),
        GateRule("ece_increase", "challenger ECE − champion ECE", ece_increase, "≤",
                 float(gate.max_ece_increase), at_most(ece_increase, gate.max_ece_increase)),
        GateRule("challenger_psi", "challenger PSI of PD (reference → compared rows)", psi, "≤",
                 float(gate.max_psi), at_most(psi, gate.max_psi)),
        GateRule("ks_drop", "champion KS − challenger KS", ks_drop, "≤",
                 float(gate.max_ks_drop), at_most(ks_drop, gate.max_ks_drop)),
    ]
    labels = f"champion {champion_label or 'missing'}, challenger {challenger_label or 'missing'}"
    if gate.require_same_label:
        same = champion_label is not None and champion_label == challenger_label
        rules.append(GateRule("same_label", "label tags of the training runs", labels, "equal",
                              "must be equal", same))
    else:
        rules.append(GateRule("same_label", "label tags of the training runs", labels, "equal",
                              "not required", True))
    return rules


def gate_table(rules: list[GateRule]) -> pd.DataFrame:
    return pd.DataFrame([asdict(rule) for rule in rules]).set_index("rule")


def gate_json(rules: list[GateRule]) -> str:
    """The gate as a version tag: compact JSON, NaN written as null."""
    return json.dumps([
        {**asdict(rule), "value": None if isinstance(rule.value, float) and math.isnan(rule.value)
         else rule.value}
        for rule in rules
    ], ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class PromotionResult:
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


def run_promotion(cfg: DictConfig) -> PromotionResult:
    """Compare, evaluate the gate, and promote when it passes (or when forced)."""
    bins = check_bins(cfg.bins)
    gate = check_gate(OmegaConf.to_object(cfg.gate))
    name = cfg.model_name
    champion_reference = ModelReference.of(name, cfg.champion)
    if champion_reference.alias is None:
        raise ConfigError(f"champion must be an alias (the one that moves); got {cfg.champion!r}")
    champion_alias = champion_reference.alias
    client = connect(cfg)
    recover_unfinished_changes(client, name)    # a promotion killed half-way is undone first
    challenger_reference = ModelReference.of(name, cfg.challenger)
    challenger = resolve(client, challenger_reference)
    champion = find_champion(client, name, champion_alias)
    for version in (challenger, champion):
        if version is not None:
            require_finished_run(client, version)

    if champion is not None and champion.version == challenger.version:
        message = f"{describe_version(challenger)} is already the champion; nothing changed"
        return PromotionResult("unchanged", 0, message, champion, challenger, [], None, None)
    if champion is None and not cfg.force:
        raise NoChampionError(
            f"no champion: registered model {name} has no alias {champion_alias!r} "
            f"({registry_state(client, name)}); promote a first version with "
            f"credit-models-promote model_name={name} challenger={challenger.version} force=true"
        )

    comparison, rules = None, []
    if champion is not None:
        comparison = compare_versions(client, champion, challenger, data_settings(cfg),
                                      reference_split=cfg.reference_split, bins=bins)
        rules = evaluate_gate(comparison.table,
                              gate, comparison.champion.run_tags.get(LABEL_TAG),
                              comparison.challenger.run_tags.get(LABEL_TAG))
    failed = [rule for rule in rules if not rule.passed]
    if failed and cfg.force and not (cfg.force_reason or "").strip():
        raise ConfigError(
            "force=true overrides a failed gate only with a reason: force_reason=\"…\" (failed: "
            + ", ".join(rule.rule for rule in failed) + ")"
        )
    promote = not failed or bool(cfg.force)
    reason = promotion_reason(champion, failed, cfg.force, cfg.force_reason)

    mlflow.set_experiment(cfg.mlflow.experiment_name)
    run_name = (f"promote {name} v{challenger.version}"
                + (f" over v{champion.version}" if champion is not None else ""))
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.set_tags({
            "run_kind": "promotion", "model_name": name,
            "challenger_version": str(challenger.version),
            "champion_version": "" if champion is None else str(champion.version),
            "gate_passed": str(not failed and champion is not None).lower(),
            "forced": str(bool(cfg.force) and (failed != [] or champion is None)).lower(),
            "decision": "pending" if promote else "rejected",
            "promotion_reason": reason[:5000],
            **code_version(PACKAGE_DIR),
        })
        mlflow.log_params(run_parameters(cfg))
        if rules:
            table = gate_table(rules)
            mlflow.log_text(table.to_csv(), "gate/gate_results.csv")
            mlflow.log_metric("gate/passed", float(not failed))
            mlflow.log_metric("gate/failed_rules", float(len(failed)))
        if comparison is not None:
            log_comparison(comparison, bins, extra_sections=[(
                "Promotion gate", "Every rule must pass for the challenger to become champion.",
                gate_table(rules).to_html(na_rep=""),
            )])
        if not promote:
            message = "gate failed; no alias moved:\n" + "\n".join(
                "  " + rule.describe() for rule in failed)
            return PromotionResult("rejected", 1, message, champion, challenger, rules,
                                   comparison, run.info.run_id)
        tags = {
            "promotion_reason": reason[:5000],
            "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "gate_results": gate_json(rules),
            "promotion_run_id": run.info.run_id,
            "promoted_over_version": "" if champion is None else str(champion.version),
        }
        changes = promotion_changes(name, challenger, champion, challenger_reference,
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


def promotion_reason(
    champion: ModelVersion | None, failed: list[GateRule], force: bool, force_reason: str | None
) -> str:
    """Why the version is (or would be) promoted, in one line."""
    given = (force_reason or "").strip()
    if champion is None:
        return "first champion, no gate possible (force=true)" + (f": {given}" if given else "")
    if not failed:
        return f"gate passed against version {champion.version}"
    failed_rules = ", ".join(rule.rule for rule in failed)
    if force:
        return f"forced over a failed gate ({failed_rules}) against version " \
               f"{champion.version}: {given}"
    return f"gate failed against version {champion.version}: {failed_rules}"


def promote(cfg: DictConfig) -> int:
    """Run the promotion and print what happened; returns the exit code."""
    result = run_promotion(cfg)
    if result.comparison is not None:
        print(comparison_report(result.comparison))
    if result.rules:
        print("\nGate:")
        print("\n".join("  " + rule.describe() for rule in result.rules))
    print()
    print(result.message, file=sys.stderr if result.exit_code else sys.stdout)
    if result.run_id:
        print(f"promotion run {result.run_id} (experiment {cfg.mlflow.experiment_name})")
    return result.exit_code


register_configs()


@job_entry("promote", usage_errors=(ComparisonError,))
def main(cfg: DictConfig) -> None:
    code = promote(cfg)
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
