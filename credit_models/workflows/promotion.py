"""The promotion gate: what a challenger must show on the compared rows to become the champion.

Every rule must pass —

- ``auc_gain``: challenger AUC − champion AUC ≥ ``min_auc_gain``;
- ``ece_increase``: challenger ECE − champion ECE ≤ ``max_ece_increase``;
- ``challenger_psi``: the challenger's PSI of PD, from the champion's development rows to the
  compared rows, ≤ ``max_psi``;
- ``ks_drop``: champion KS − challenger KS ≤ ``max_ks_drop``;
- ``same_label``: both training runs carry the same ``label`` tag (when ``require_same_label``).

Limits are inclusive; a metric that cannot be computed (NaN) fails its rule. Plain Python on the
comparison table: the registry change is :mod:`credit_models.tracking.promotion_run`'s.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from credit_models.errors import ConfigError
from credit_models.workflows.comparison import (
    CHALLENGER,
    CHAMPION,
    CompareSettings,
    Comparison,
)

LABEL_TAG = "label"
"""The training run's tag naming the default definition."""
DIFFERENCE_RULES = frozenset({"auc_gain", "ece_increase", "ks_drop"})
"""Rules on a difference between the two models (shown with a sign)."""
ROUNDING = 1e-12
"""Limits are inclusive; a difference that misses one only by floating-point rounding (0.50 −
0.49 = 0.010000000000000009) meets it."""
THRESHOLDS = ("min_auc_gain", "max_ece_increase", "max_psi", "max_ks_drop")


@dataclass(frozen=True)
class GateSettings:
    """What a challenger must show on the compared rows to become the champion
    (``conf/gate/default.yaml``); checked when built."""

    min_auc_gain: float = 0.0
    """challenger AUC − champion AUC must be at least this."""
    max_ece_increase: float = 0.005
    """challenger ECE − champion ECE must be at most this."""
    max_psi: float = 0.1
    """The challenger's PSI of PD (reference split → compared rows) must be at most this."""
    max_ks_drop: float = 0.01
    """champion KS − challenger KS must be at most this."""
    require_same_label: bool = True
    """Both training runs must carry the same ``label`` tag (the same default definition)."""

    def __post_init__(self) -> None:
        check_gate(self)


@dataclass(frozen=True)
class PromoteSettings(CompareSettings):
    """``credit-models-promote``'s settings and Hydra schema (``conf/promote.yaml``): the
    comparison, the gate, and whether (and why) to override it."""

    gate: GateSettings = field(default_factory=GateSettings)
    force: bool = False
    """Promote a first champion (no gate possible) or override a failed gate."""
    force_reason: str | None = None
    """Required to override a failed gate; recorded on the version and the promotion run."""


def check_gate(gate: Any) -> Any:
    """Thresholds are finite numbers; the ``max_…`` ones are not negative."""
    for key in THRESHOLDS:
        value = getattr(gate, key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(f"gate.{key} must be a finite number; got {value!r}")
        if key.startswith("max_") and value < 0:
            raise ConfigError(f"gate.{key} must be >= 0; got {value!r}")
    return gate


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


def evaluate_gate(
    table: pd.DataFrame, gate: GateSettings, champion_label: str | None,
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


def promotion_reason(
    champion_version: str | None, failed: list[GateRule], force: bool, force_reason: str | None
) -> str:
    """Why the version is (or would be) promoted, in one line."""
    given = (force_reason or "").strip()
    if champion_version is None:
        return "first champion, no gate possible (force=true)" + (f": {given}" if given else "")
    if not failed:
        return f"gate passed against version {champion_version}"
    failed_rules = ", ".join(rule.rule for rule in failed)
    if force:
        return f"forced over a failed gate ({failed_rules}) against version " \
               f"{champion_version}: {given}"
    return f"gate failed against version {champion_version}: {failed_rules}"


def check_force(failed: list[GateRule], force: bool, force_reason: str | None) -> bool:
    """Whether the challenger is promoted: the gate passed, or ``force`` with a reason
    overrides it (force without a reason over a failed gate is a :class:`ConfigError`)."""
    if failed and force and not (force_reason or "").strip():
        raise ConfigError(
            "force=true overrides a failed gate only with a reason: force_reason=\"…\" (failed: "
            + ", ".join(rule.rule for rule in failed) + ")"
        )
    return not failed or bool(force)


@dataclass(frozen=True)
class GateDecision:
    """What the gate decided on a comparison (none when there is no champion yet): the rules,
    whether the challenger is promoted and why, in one line."""

    rules: list[GateRule]
    comparison: Comparison | None
    promote: bool
    reason: str
    forced: bool
    """``force`` made the decision: a first champion, or a failed gate overridden."""

    @property
    def failed(self) -> list[GateRule]:
        return [rule for rule in self.rules if not rule.passed]

    @property
    def passed(self) -> bool:
        """Every rule passed against a champion."""
        return not self.failed and self.comparison is not None

    def table(self) -> pd.DataFrame:
        return gate_table(self.rules)

    def json(self) -> str:
        return gate_json(self.rules)

    def failure_message(self) -> str:
        return "gate failed; no alias moved:\n" + "\n".join(
            "  " + rule.describe() for rule in self.failed)


def decide_promotion(comparison: Comparison | None, settings: PromoteSettings) -> GateDecision:
    """The gate on the comparison (None: no champion, only ``force`` promotes) and the
    decision: promoted when every rule passes, or when forced with a reason."""
    rules: list[GateRule] = []
    if comparison is not None:
        rules = evaluate_gate(comparison.table, settings.gate,
                              comparison.champion.run_tags.get(LABEL_TAG),
                              comparison.challenger.run_tags.get(LABEL_TAG))
    failed = [rule for rule in rules if not rule.passed]
    promote = check_force(failed, settings.force, settings.force_reason)
    champion_version = None if comparison is None else comparison.champion.version
    reason = promotion_reason(champion_version, failed, settings.force, settings.force_reason)
    return GateDecision(rules, comparison, promote, reason,
                        forced=bool(settings.force and (failed != [] or comparison is None)))
