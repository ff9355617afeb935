"""Feature selection for credit models: the analyst's screening rules, every drop explained.

Two rule sets, because model families need different screening:

* ``scorecard`` (every rule below): a logistic regression on WoE needs informative, stable,
  non-redundant inputs, so weak, drifting and correlated features are dropped.
* ``trees``: gradient-boosted trees pick their own splits and are indifferent to correlated
  inputs; an IV filter (a univariate, monotone view) drops interactions and non-monotone signal
  they use (measured on real data: the scorecard rules kept 9 of 26 application fields and cost
  XGBoost 0.014 AUC out of time). Only what no model can use is dropped: features missing in
  every development row, constant ones and identifier-like ones (rule ``unusable``). IV and PSI,
  reported only, are measured on a stratified sample of :data:`TREES_IV_SAMPLE_ROWS` rows.

Both rule sets drop identifier-like features and whatever the caller excludes (sensitive or
leaky features); both measure and report every column below, so the report reads the same.

Each feature is measured on the development sample: missing rate, single-value share, information
value (IV, from the optimal monotonic binning of :mod:`credit_models.features.binning`), population
stability index (PSI) against a comparison sample on the development bins, and rank correlation
with the other features. The rules run in a fixed order and a dropped feature's ``reason`` names the
first one it fails:

1. ``missing_rate``: share of missing values > ``max_missing_rate``.
2. ``single_value_share``: share of the most frequent value, missing counted as a value,
   > ``max_single_value_share`` (a constant carries no information).
3. ``iv``: IV < ``min_iv`` (too weak to earn a place in a scorecard).
4. ``psi``: PSI > ``max_psi`` (the feature drifts: a model leaning on it degrades out of time).
   Skipped when no comparison sample is given. The comparison must come from before the test
   period (the training workflow passes the validation and calibration rows): a model built on
   1 January cannot know next year's distributions, so the test period never decides.
5. ``unusable``: identifier-like (text with a distinct value in more than 90 % of rows, or
   consecutive integers one per row); in the trees rule set, the only rule, also all missing or
   constant.
6. ``correlation``: among features passing 1–5, taken in descending IV, a feature whose
   ``|Spearman ρ|`` with an already kept feature exceeds ``max_correlation`` is dropped in favour
   of that feature (the most correlated one if several).

IV is measured on the sample the bins were fitted to, so it is optimistic on small samples: with
about 200 bads a feature of pure noise reached IV 0.04-0.06 (above ``min_iv``), with 1,500 bads it
stayed below 0.015. With few bads, raise ``min_iv`` or compare IV on the validation period.

``max_iv`` only *flags* (column ``warning``): an IV above 0.5 may signal leakage, but in behaviour
scores current delinquency routinely exceeds it for good reason, so dropping it automatically would
throw away the best features; the flag asks for a human look.

Why Spearman on WoE values: it is the representation the scorecard's regression sees, so it
measures the collinearity that harms the coefficients; every feature, categorical or mostly
missing, becomes a complete numerical column (missing values sit in their own bin), so one rank
matrix product gives all pairs at once.

Why greedy by IV rather than hierarchical clustering: complete linkage can leave two features
correlated above the threshold in different clusters (both kept), and single linkage chains
features that are not correlated with each other into one cluster (one kept). Taking features in
descending IV and keeping one only if it is not too correlated with any kept feature guarantees
that no two kept features exceed ``max_correlation`` and that the stronger one wins. The report's
``cluster`` numbers each kept feature's group (1 = highest IV) and gives each dropped one its
winner's number.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted

from credit_models.evaluation.metrics import psi_from_counts
from credit_models.features.binning import (
    CATEGORICAL,
    NUMERICAL,
    UNKNOWN_CATEGORY,
    WoeBinner,
    binary_target,
    feature_frame,
    feature_kind,
    supervised_by_binary_target,
)

logger = logging.getLogger(__name__)

RULES = ("missing_rate", "single_value_share", "iv", "psi", "unusable", "correlation")
"""The selection rules in the order they are applied; a drop reason names the first failed."""
RULE_SETS = ("scorecard", "trees")
"""``scorecard``: every rule; ``trees``: ``unusable`` only (see the module docstring)."""
TREES_IV_SAMPLE_ROWS = 20_000
"""The trees rules decide without IV: the report's IV and PSI are then measured on a sample of
this many development rows (stratified by outcome, seeded), enough for two-decimal IVs, so that
screening a large development period costs seconds, not minutes."""
IDENTIFIER_MIN_ROWS = 100
"""Fewer development rows than this never call a feature identifier-like: in a small sample many
honest features have all-distinct values."""
IDENTIFIER_DISTINCT_SHARE = 0.9
"""A text feature with more distinct values than this share of rows names rows, not groups."""
REPORT_COLUMNS = (
    "feature", "description", "kind", "missing_rate", "single_value_share", "n_bins", "iv", "psi",
    "cluster", "kept", "reason", "warning",
)


class FeatureSelector(TransformerMixin, BaseEstimator):
    """Screen features by missing rate, single-value share, IV, PSI and correlation, and report
    why each one was kept or dropped (see the module docstring for the rules and their order).

    Parameters
    ----------
    max_missing_rate:
        Drop a feature missing in more than this share of development rows.
    max_single_value_share:
        Drop a feature whose most frequent value (missing included) fills more than this share.
    min_iv:
        Drop a feature with a lower information value (0.02: "useless" below it).
    max_iv:
        Flag (not drop) a feature with a higher information value as suspect of leakage;
        ``None`` disables the flag.
    max_psi:
        Drop a feature whose PSI between development and comparison samples exceeds this (0.25:
        "act" above it).
    max_correlation:
        Drop a feature whose ``|Spearman ρ|`` on WoE values with a kept feature of higher IV
        exceeds this.
    psi_epsilon:
        Floor of a bin's share in the PSI, so that empty bins give finite values.
    binner:
        The :class:`~credit_models.features.binning.WoeBinner` (unfitted) whose bins give IV and
        PSI; ``None`` uses its defaults. It is cloned, never fitted in place.
    rules:
        ``"scorecard"`` (every rule) or ``"trees"`` (only ``unusable``: all missing, constant or
        identifier-like); see the module docstring.
    measure_iv:
        Bin every feature to measure IV and PSI. The trees rules decide without them, so
        ``False`` (trees only) skips the binning where no report is wanted, e.g. inside
        cross-validation folds; IV and PSI are then NaN.

    Attributes
    ----------
    selection_report_: one row per input feature, highest IV first, columns
        :data:`REPORT_COLUMNS`; ``reason`` is empty for kept features.
    selected_features_: the kept features, in input order.
    feature_kinds_: feature → ``"numerical"`` or ``"categorical"``.
    binner_: the fitted WoE binner (its tables explain each IV); ``None`` without ``measure_iv``.
    correlation_: Spearman ρ on WoE values among the features that reached rule 5 (scorecard
        rules; ``None`` for the trees rules).
    n_features_in_, feature_names_in_: as in scikit-learn.
    """

    def __init__(
        self,
        *,
        max_missing_rate: float = 0.95,
        max_single_value_share: float = 0.98,
        min_iv: float = 0.02,
        max_iv: float | None = 0.5,
        max_psi: float = 0.25,
        max_correlation: float = 0.9,
        psi_epsilon: float = 1e-4,
        binner: WoeBinner | None = None,
        rules: str = "scorecard",
        measure_iv: bool = True,
    ) -> None:
        self.max_missing_rate = max_missing_rate
        self.max_single_value_share = max_single_value_share
        self.min_iv = min_iv
        self.max_iv = max_iv
        self.max_psi = max_psi
        self.max_correlation = max_correlation
        self.psi_epsilon = psi_epsilon
        self.binner = binner
        self.rules = rules
        self.measure_iv = measure_iv

    def _check_parameters(self) -> None:
        _check_range("max_missing_rate", self.max_missing_rate, 0.0, 1.0, "[0, 1]")
        _check_range("max_single_value_share", self.max_single_value_share, 0.0, 1.0, "[0, 1]")
        _check_range("min_iv", self.min_iv, 0.0, np.inf, "[0, inf)")
        if self.max_iv is not None:
            _check_range("max_iv", self.max_iv, 0.0, np.inf, "[0, inf)")
            if self.max_iv <= self.min_iv:
                raise ValueError(
                    f"max_iv must be greater than min_iv ({self.min_iv}); got {self.max_iv}."
                )
        _check_range("max_psi", self.max_psi, 0.0, np.inf, "[0, inf)")
        _check_range("max_correlation", self.max_correlation, 0.0, 1.0, "[0, 1]")
        if not _is_number(self.psi_epsilon) or not 0 < self.psi_epsilon < 0.1:
            raise ValueError(f"psi_epsilon must be in (0, 0.1); got {self.psi_epsilon!r}.")
        if self.rules not in RULE_SETS:
            raise ValueError(f"rules must be one of {list(RULE_SETS)}; got {self.rules!r}.")
        if not self.measure_iv and self.rules == "scorecard":
            raise ValueError("measure_iv=False is for rules='trees': the scorecard rules need IV")
        if self.binner is not None and not isinstance(self.binner, WoeBinner):
            raise ValueError(
                f"binner must be a WoeBinner or None; got {type(self.binner).__name__}."
            )

    def fit(
        self,
        X: pd.DataFrame | np.ndarray,
        y: Any,
        *,
        comparison: pd.DataFrame | np.ndarray | None = None,
        descriptions: Mapping[str, str] | None = None,
        excluded: Mapping[str, str] | None = None,
    ) -> FeatureSelector:
        """Measure every feature of the development sample ``X`` (target ``y``: bad = 1 / True)
        and decide which to keep.

        ``comparison`` is the sample the PSI compares with: a later period that is still before
        the test (never the test period itself); only its feature values are used, never its
        labels. ``descriptions`` (feature name → text,
        e.g. ``FeatureMatrix.descriptions``) is copied into the report. ``excluded`` (feature →
        reason, e.g. ``"sensitive attribute (age)"``) are dropped before every rule, whatever
        their measures, with that reason: features the model must not use.
        """
        self._check_parameters()
        frame = feature_frame(self, X, reset=True)
        target = binary_target(y, len(frame))
        compared = None
        if comparison is not None:
            compared = feature_frame(self, comparison, reset=False)
            if len(compared) == 0:
                raise ValueError("comparison has 0 rows; pass None to skip the PSI rule")
        names = list(frame.columns)
        self.binner_ = None
        if self.measure_iv:
            binner = clone(self.binner) if self.binner is not None else WoeBinner()
            sample = (_stratified_sample(target, TREES_IV_SAMPLE_ROWS)
                      if self.rules == "trees" else slice(None))
            self.binner_ = binner.fit(frame.iloc[sample], target[sample])
        self.feature_kinds_ = (dict(self.binner_.feature_kinds_) if self.binner_ is not None
                               else {name: feature_kind(frame[name]) for name in names})
        unmeasured = pd.Series(np.nan, index=names, dtype="float64")
        measures = pd.DataFrame(
            {
                "missing_rate": frame.isna().mean(),
                "single_value_share": [_single_value_share(frame[name]) for name in names],
                "iv": self.binner_.iv_ if self.binner_ is not None else unmeasured,
                "psi": (self._psi(compared) if compared is not None and self.binner_ is not None
                        else unmeasured),
            },
            index=names,
        )
        excluded = dict(excluded or {})
        unknown = sorted(set(excluded) - set(names))
        if unknown:
            raise ValueError(f"excluded names {len(unknown)} feature(s) not in X: {unknown[:5]}")
        reasons = {
            name: excluded.get(name)
            or (self._first_failed_rule(row) if self.rules == "scorecard" else "")
            or _unusable(frame[name], self.feature_kinds_[name])
            for name, row in measures.iterrows()
        }
        cluster: dict[str, int] = {}
        self.correlation_ = None
        if self.rules == "scorecard":
            candidates = [name for name in names if not reasons[name]]
            candidates.sort(key=lambda name: -measures.at[name, "iv"])  # stable: ties keep order
            self.correlation_ = _spearman(self.binner_.transform(frame)[candidates])
            cluster = self._correlation_clusters(candidates, measures["iv"], reasons)

        self.selected_features_ = [name for name in names if not reasons[name]]
        self.selection_report_ = self._report(measures, reasons, cluster, descriptions or {})
        _log_summary(self.selection_report_)
        return self

    def _psi(self, compared: pd.DataFrame) -> pd.Series:
        positions = self.binner_.bin_indices(compared)
        values = {}
        for name in positions.columns:
            expected = self.binner_.bin_counts(name).astype("float64")
            bin_of_row = positions[name].to_numpy()
            bin_of_row = np.where(bin_of_row == UNKNOWN_CATEGORY, len(expected), bin_of_row)
            actual = np.bincount(bin_of_row, minlength=len(expected) + 1)
            values[name] = psi_from_counts(
                np.append(expected, 0.0), actual, epsilon=self.psi_epsilon
            )
        return pd.Series(values, dtype="float64")

    def _first_failed_rule(self, row: pd.Series) -> str:
        if row["missing_rate"] > self.max_missing_rate:
            return (f"missing_rate {_shown(row['missing_rate'], self.max_missing_rate)} > "
                    f"{self.max_missing_rate:g}")
        if row["single_value_share"] > self.max_single_value_share:
            return (f"single_value_share "
                    f"{_shown(row['single_value_share'], self.max_single_value_share)} > "
                    f"{self.max_single_value_share:g}")
        if row["iv"] < self.min_iv:
            return f"iv {_shown(row['iv'], self.min_iv)} < {self.min_iv:g}"
        if row["psi"] > self.max_psi:    # False for NaN: no comparison sample, no PSI rule
            return f"psi {_shown(row['psi'], self.max_psi)} > {self.max_psi:g}"
        return ""

    def _correlation_clusters(
        self, candidates: list[str], iv: pd.Series, reasons: dict[str, str]
    ) -> dict[str, int]:
        """Greedy in descending IV: keep a feature unless a kept one is too correlated with it.
        Writes the drop reasons into ``reasons``; returns each feature's cluster number."""
        rho = self.correlation_.to_numpy()
        kept: list[int] = []
        cluster: dict[str, int] = {}
        for position, name in enumerate(candidates):
            if kept:
                strength = np.abs(rho[position, kept])
                best = int(np.argmax(strength))
                if strength[best] > self.max_correlation:
                    winner = candidates[kept[best]]
                    value = rho[position, kept[best]]
                    stronger, weaker = iv[winner], iv[name]
                    comparison = (
                        f"higher IV {_shown(stronger, weaker)} vs {_shown(weaker, stronger)}"
                        if stronger > weaker else f"same IV {weaker:.3g}, earlier in X"
                    )
                    reasons[name] = (
                        f"correlated with {winner} "
                        f"(ρ={_shown(value, np.sign(value) * self.max_correlation)}, {comparison})"
                    )
                    cluster[name] = cluster[winner]
                    continue
            kept.append(position)
            cluster[name] = len(kept)
        return cluster

    def _report(
        self, measures: pd.DataFrame, reasons: dict[str, str], cluster: dict[str, int],
        descriptions: Mapping[str, str],
    ) -> pd.DataFrame:
        names = list(measures.index)
        iv = measures["iv"]
        warning = [
            f"iv {iv[name]:.3g} > {self.max_iv:g}: unusually strong, check for leakage"
            if self.max_iv is not None and iv[name] > self.max_iv else ""
            for name in names
        ]
        report = pd.DataFrame(
            {
                "feature": names,
                "description": [str(descriptions.get(name, "")) for name in names],
                "kind": [self.feature_kinds_[name] for name in names],
                "missing_rate": measures["missing_rate"].to_numpy(),
                "single_value_share": measures["single_value_share"].to_numpy(),
                "n_bins": (self.binner_.n_bins_[names].to_numpy() if self.binner_ is not None
                           else pd.array([pd.NA] * len(names), dtype="Int64")),
                "iv": iv.to_numpy(),
                "psi": measures["psi"].to_numpy(),
                "cluster": pd.array([cluster.get(name) for name in names], dtype="Int64"),
                "kept": [not reasons[name] for name in names],
                "reason": [reasons[name] for name in names],
                "warning": warning,
            },
            columns=list(REPORT_COLUMNS),
        )
        return report.sort_values("iv", ascending=False, kind="stable").reset_index(drop=True)

    # -------------------------------------------------------------- transforming
    def transform(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """The kept feature columns of ``X``, values unchanged, in input order. A DataFrame only
        needs the kept columns; an array must have every fitted column, in order."""
        check_is_fitted(self, "selected_features_")
        if isinstance(X, pd.DataFrame) and hasattr(self, "feature_names_in_"):
            missing = [name for name in self.selected_features_ if name not in X.columns]
            if missing:
                raise ValueError(
                    f"{len(missing)} selected feature(s) missing from X: {missing[:5]}"
                )
            return X[self.selected_features_]
        return feature_frame(self, X, reset=False)[self.selected_features_]

    def get_support(self, indices: bool = False) -> np.ndarray:
        """Which input features are kept: a boolean mask, or their positions."""
        check_is_fitted(self, "selected_features_")
        mask = np.isin(self._input_names(), self.selected_features_)
        return np.flatnonzero(mask) if indices else mask

    def get_feature_names_out(self, input_features: Iterable[str] | None = None) -> np.ndarray:
        """The kept features' names, in input order."""
        check_is_fitted(self, "selected_features_")
        if input_features is not None and list(input_features) != self._input_names():
            raise ValueError("input_features must be the features the selector was fitted on")
        return np.asarray(self.selected_features_, dtype=object)

    def _input_names(self) -> list[str]:
        return list(self.feature_kinds_)

    def __sklearn_tags__(self) -> Tags:
        return supervised_by_binary_target(super().__sklearn_tags__())


def _stratified_sample(target: np.ndarray, rows: int) -> np.ndarray | slice:
    """Positions of at most ``rows`` rows keeping the bad rate (all rows when fewer), in their
    original order; seeded, so the same data give the same sample."""
    if len(target) <= rows:
        return slice(None)
    rng = np.random.default_rng(0)
    chosen = [rng.choice(np.flatnonzero(target == value),
                         size=round(rows * float(np.mean(target == value))), replace=False)
              for value in (False, True)]
    return np.sort(np.concatenate(chosen))


def _unusable(column: pd.Series, kind: str) -> str:
    """Why no model can learn from ``column`` (empty when it can): every value missing, one
    value only, or values that name rows rather than group them (an identifier)."""
    values = column.dropna()
    if values.empty:
        return "unusable: missing in every development row"
    distinct = values.nunique()
    if distinct == 1 and len(values) == len(column):
        return "unusable: constant"
    if len(values) >= IDENTIFIER_MIN_ROWS:
        if kind == CATEGORICAL and distinct > IDENTIFIER_DISTINCT_SHARE * len(values):
            return f"unusable: identifier-like ({distinct:,} distinct values in {len(values):,} rows)"
        if (kind == NUMERICAL and distinct == len(values)
                and np.array_equal(np.sort(values.to_numpy(dtype="float64")),
                                   np.arange(distinct) + float(values.min()))):
            return "unusable: identifier-like (consecutive integers, one per row)"
    return ""


def _single_value_share(column: pd.Series) -> float:
    counts = column.value_counts(dropna=False)
    return float(counts.max() / len(column)) if len(counts) else 0.0


def _spearman(woe: pd.DataFrame) -> pd.DataFrame:
    """Spearman ρ = Pearson correlation of the ranks; a constant column correlates 0 with all."""
    names = list(woe.columns)
    if not names:
        return pd.DataFrame(index=names, columns=names, dtype="float64")
    ranks = rankdata(woe.to_numpy(dtype="float64"), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.atleast_2d(np.corrcoef(ranks, rowvar=False))
    rho = np.nan_to_num(rho, nan=0.0)
    np.fill_diagonal(rho, 1.0)
    return pd.DataFrame(rho, index=names, columns=names)


def _shown(value: float, bound: float) -> str:
    """Enough significant digits to tell a value from the bound it broke (0.97 vs 0.95, 0.9504
    vs 0.95), so a reason never reads "0.95 > 0.95"."""
    for digits in range(2, 7):
        text = f"{value:#.{digits}g}"
        if text != f"{bound:#.{digits}g}":
            return text.rstrip(".")
    return f"{value:.6g}"


def _log_summary(report: pd.DataFrame) -> None:
    dropped = report.loc[~report["kept"], "reason"].str.split(" ").str[0].str.rstrip(":")
    by_rule = dropped.replace({"correlated": "correlation"}).value_counts()
    logger.info(
        "kept %d of %d features; dropped by %s", int(report["kept"].sum()), len(report),
        ", ".join(f"{rule} {int(by_rule.get(rule, 0))}" for rule in RULES),
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _check_range(name: str, value: Any, low: float, high: float, shown: str) -> None:
    if not _is_number(value) or not low <= value <= high:
        raise ValueError(f"{name} must be in {shown}; got {value!r}.")
