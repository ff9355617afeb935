"""The structured config of feature selection and WoE binning (``conf/selection/default.yaml``).

Primitive fields only, so Hydra can check types and names at load time; closed choices are enums,
so a wrong value is rejected with the list of valid ones. :meth:`SelectionConfig.build` turns it
into an unfitted :class:`~credit_models.features.selection.FeatureSelector` and checks every value,
so a bad threshold fails before any data is read.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from credit_models.features.binning import WoeBinner
from credit_models.features.selection import FeatureSelector


class MonotonicTrend(str, Enum):
    """Trend of the bad rate over a feature's bins (see :class:`WoeBinner`); the same values as
    ``binning.MONOTONIC_TRENDS`` (a test keeps them in step)."""

    ascending_or_descending = "ascending_or_descending"
    auto = "auto"
    auto_heuristic = "auto_heuristic"
    auto_asc_desc = "auto_asc_desc"
    ascending = "ascending"
    descending = "descending"
    concave = "concave"
    convex = "convex"
    peak = "peak"
    valley = "valley"
    peak_heuristic = "peak_heuristic"
    valley_heuristic = "valley_heuristic"


class SelectionRules(str, Enum):
    """Which rule set screens the features (see :mod:`credit_models.features.selection`)."""

    auto = "auto"
    """By the model family: ``scorecard`` for the WoE scorecard, ``trees`` for XGBoost."""
    scorecard = "scorecard"
    trees = "trees"


class BinningSolver(str, Enum):
    cp = "cp"
    mip = "mip"


@dataclass
class SelectionConfig:
    """Thresholds of the selection rules (in the order they apply) and the binning behind IV."""

    rules: SelectionRules = SelectionRules.auto
    """``auto`` (by model family) | ``scorecard`` (every rule) | ``trees`` (only drop what no
    model can use: all missing, constant, identifier-like)."""
    exclude: list[str] = field(default_factory=list)
    """Feature-name patterns (fnmatch) never to use, whatever the rules: leaky features, or
    inputs not available when the decision is made. Each one is reported with the pattern."""
    max_missing_rate: float = 0.95
    """Drop a feature missing in more than this share of development rows."""
    max_single_value_share: float = 0.98
    """Drop a feature whose most frequent value (missing counted) fills more than this share."""
    min_iv: float = 0.02
    """Drop a feature of lower information value (< 0.02 useless, 0.02-0.1 weak)."""
    max_iv: float | None = 0.5
    """Flag, never drop, a feature of higher IV as suspect of leakage; null disables the flag."""
    max_psi: float = 0.25
    """Drop a feature whose PSI between development and comparison samples exceeds this."""
    psi_epsilon: float = 1e-4
    """Floor of a bin's share in the PSI, so that an empty bin gives a finite value."""
    max_correlation: float = 0.9
    """Drop a feature whose |Spearman ρ| on WoE with a kept feature of higher IV exceeds this."""

    monotonic_trend: MonotonicTrend | None = MonotonicTrend.ascending_or_descending
    """Bad-rate trend over the bins; null for none (not for scorecards)."""
    trees_monotonic_trend: MonotonicTrend | None = MonotonicTrend.auto_asc_desc
    """The trend under the trees rules, whose binning only reports IV and PSI: one solve per
    feature that picks its direction (auto_asc_desc), a third of the time of solving both ways
    for about the same IV."""
    max_n_prebins: int = 20
    min_prebin_size: float = 0.02
    max_n_bins: int | None = None
    min_bin_size: float | None = None
    cat_cutoff: float | None = None
    """Categories rarer than this share are grouped into "others"."""
    special_codes: list[float] | None = field(default=None)
    """Values meaning "not applicable" (e.g. [-999]), binned on their own."""
    solver: BinningSolver = BinningSolver.cp
    time_limit: int = 100
    """Seconds the solver may spend on one feature."""
    n_jobs: int | None = None
    """Features binned in parallel; null for one at a time."""

    def resolved_rules(self, family: str) -> str:
        """The rule set that runs for a model ``family`` (``"xgboost"`` or ``"scorecard"``)."""
        rules = _value(self.rules)
        if rules != SelectionRules.auto.value:
            return rules
        return "scorecard" if family == "scorecard" else "trees"

    def excluded(self, names: Iterable[str]) -> dict[str, str]:
        """Feature → reason for every name an ``exclude`` pattern matches."""
        reasons = {}
        for name in names:
            pattern = next((item for item in self.exclude if fnmatch.fnmatchcase(name, item)),
                           None)
            if pattern is not None:
                reasons[name] = f"excluded by selection.exclude ({pattern!r})"
        return reasons

    def build(self, family: str = "scorecard") -> FeatureSelector:
        """The unfitted selector for a model ``family``, every parameter checked now rather
        than at ``fit``."""
        rules = self.resolved_rules(family)
        binner = WoeBinner(
            monotonic_trend=_value(self.trees_monotonic_trend if rules == "trees"
                                   else self.monotonic_trend),
            max_n_prebins=self.max_n_prebins,
            min_prebin_size=self.min_prebin_size,
            max_n_bins=self.max_n_bins,
            min_bin_size=self.min_bin_size,
            cat_cutoff=self.cat_cutoff,
            special_codes=list(self.special_codes) if self.special_codes is not None else None,
            solver=_value(self.solver),
            time_limit=self.time_limit,
            n_jobs=self.n_jobs,
        )
        selector = FeatureSelector(
            max_missing_rate=self.max_missing_rate,
            max_single_value_share=self.max_single_value_share,
            min_iv=self.min_iv,
            max_iv=self.max_iv,
            max_psi=self.max_psi,
            max_correlation=self.max_correlation,
            psi_epsilon=self.psi_epsilon,
            binner=binner,
            rules=rules,
        )
        binner._check_parameters()
        selector._check_parameters()
        return selector


def _value(choice: Enum | str | None) -> str | None:
    return choice.value if isinstance(choice, Enum) else choice
