"""The bars a PD model is judged against in its validation report (``conf/validation/*.yaml``).

Each headline metric has a *pass* level and a looser *watch* level: a value at or better than the
pass level passes, one at or better than the watch level is to be watched, anything worse fails.
The metrics are the test split's (out of time) AUC and KS (higher is better), its ECE, the PSI
of the score from development to it and the fall of AUC from validation to it (lower is better).
Three further levels decide which weaknesses the report states as limitations: too few bads on
the test split, a segment ranked clearly worse than the whole, and a gap to the oracle (the
simulator's true PD).

Plain Python, so that the training settings can hold it (it is the Hydra schema of its group)
and a report can be judged without a config; it checks itself when built.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd

from credit_models.errors import ConfigError

PASS, WATCH, FAIL = "pass", "watch", "fail"
NOT_MEASURED = "n/a"
"""The status of a metric that could not be measured (e.g. AUC of a one-class split)."""
STATUS_ORDER = (PASS, WATCH, NOT_MEASURED, FAIL)
"""Worst last: the overall verdict is the worst status of any metric (n/a counts as watch)."""


@dataclass(frozen=True)
class Criterion:
    """One judged metric: its key (``<key>_pass``/``<key>_watch`` in the config), what it is in
    words, which way is better and the range its levels must lie in."""

    key: str
    label: str
    higher_is_better: bool
    lowest: float
    highest: float

    def status(self, value: float, pass_level: float, watch_level: float) -> str:
        """``pass``, ``watch`` or ``fail`` of ``value``; ``n/a`` when it is missing."""
        if value is None or not math.isfinite(float(value)):
            return NOT_MEASURED
        sign = 1.0 if self.higher_is_better else -1.0
        if sign * float(value) >= sign * pass_level:
            return PASS
        if sign * float(value) >= sign * watch_level:
            return WATCH
        return FAIL


CRITERIA = (
    Criterion("auc", "AUC, test split (ranking power)", True, 0.5, 1.0),
    Criterion("ks", "KS, test split (separation of goods and bads)", True, 0.0, 1.0),
    Criterion("ece", "ECE, test split (calibration error)", False, 0.0, 1.0),
    Criterion("psi", "PSI of the score, development to test split (stability)", False, 0.0,
              math.inf),
    Criterion("auc_drop", "AUC drop, validation to test split (ageing, over-fitting)", False,
              0.0, 0.5),
)
"""The metrics of the verdict, in the order the report lists them."""


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


@dataclass(frozen=True)
class ValidationThresholds:
    """``conf/validation/*.yaml``: pass and watch levels per metric (flat keys
    ``<metric>_pass``, ``<metric>_watch``) and the levels at which the report names a
    limitation. Checked when built: every level a number in its metric's range, and each watch
    level no stricter than its pass level."""

    auc_pass: float = 0.70
    auc_watch: float = 0.65
    ks_pass: float = 0.30
    ks_watch: float = 0.20
    ece_pass: float = 0.02
    ece_watch: float = 0.04
    psi_pass: float = 0.10
    psi_watch: float = 0.25
    auc_drop_pass: float = 0.03
    auc_drop_watch: float = 0.06
    min_test_bads: int = 300
    """Fewer bads than this on the test split: its AUC and calibration are stated as uncertain."""
    segment_auc_gap: float = 0.05
    """A segment value whose AUC is this far below the whole test split's is named."""
    oracle_auc_gap: float = 0.05
    """A model AUC this far below the oracle's (simulated data) is named."""

    def __post_init__(self) -> None:
        for criterion in CRITERIA:
            levels = {}
            for level in ("pass", "watch"):
                key = f"{criterion.key}_{level}"
                value = getattr(self, key)
                if not _is_number(value) or not criterion.lowest <= value <= criterion.highest:
                    bounds = (f">= {criterion.lowest}" if math.isinf(criterion.highest)
                              else f"in [{criterion.lowest}, {criterion.highest}]")
                    raise ConfigError(f"validation.{key} must be a number {bounds}; "
                                      f"got {value!r}")
                levels[level] = float(value)
            looser = (levels["watch"] <= levels["pass"] if criterion.higher_is_better
                      else levels["watch"] >= levels["pass"])
            if not looser:
                better = "higher" if criterion.higher_is_better else "lower"
                relation = "<=" if criterion.higher_is_better else ">="
                raise ConfigError(
                    f"validation.{criterion.key}_watch ({levels['watch']}) must be looser than "
                    f"validation.{criterion.key}_pass ({levels['pass']}): {better} is better for "
                    f"{criterion.key}, so watch {relation} pass"
                )
        if (not isinstance(self.min_test_bads, int) or isinstance(self.min_test_bads, bool)
                or self.min_test_bads < 0):
            raise ConfigError(f"validation.min_test_bads must be an integer >= 0; got "
                              f"{self.min_test_bads!r}")
        for key in ("segment_auc_gap", "oracle_auc_gap"):
            value = getattr(self, key)
            if not _is_number(value) or not 0.0 <= value <= 0.5:
                raise ConfigError(f"validation.{key} must be a number in [0, 0.5]; got {value!r}")

    def levels(self, key: str) -> tuple[float, float]:
        """(pass, watch) of the metric ``key``."""
        return getattr(self, f"{key}_pass"), getattr(self, f"{key}_watch")

    def verdict(self, values: Mapping[str, float]) -> pd.DataFrame:
        """One row per metric of :data:`CRITERIA` present in ``values`` (key → measured value):
        ``metric``, ``label``, ``value``, ``pass_level``, ``watch_level``, ``higher_is_better``
        and ``status`` (``pass``/``watch``/``fail``, ``n/a`` for a missing value)."""
        rows = []
        for criterion in CRITERIA:
            if criterion.key not in values:
                continue
            pass_level, watch_level = self.levels(criterion.key)
            value = values[criterion.key]
            rows.append({
                "metric": criterion.key, "label": criterion.label, "value": value,
                "pass_level": pass_level, "watch_level": watch_level,
                "higher_is_better": criterion.higher_is_better,
                "status": criterion.status(value, pass_level, watch_level),
            })
        return pd.DataFrame(rows, columns=["metric", "label", "value", "pass_level",
                                           "watch_level", "higher_is_better", "status"])


def overall_status(statuses: pd.Series | list[str]) -> str:
    """The worst status: ``fail`` if any metric fails, ``watch`` if any is to be watched or
    could not be measured, else ``pass`` (``pass`` too for no metric at all)."""
    worst = max((STATUS_ORDER.index(status) for status in statuses), default=0)
    return WATCH if STATUS_ORDER[worst] == NOT_MEASURED else STATUS_ORDER[worst]


THRESHOLD_KEYS = tuple(item.name for item in fields(ValidationThresholds))
"""Every key of the config group, for documentation and tests."""
