"""The model-validation report: one self-contained HTML page a reviewer reads from top to bottom.

It reads as a model-validation document: its purpose and scope, the data and label definition
(source, snapshots, label, rows and bads per split), the verdict of each headline metric against
the pass and watch levels of the config (:class:`~credit_models.evaluation.validation_thresholds.
ValidationThresholds`) and the limitations the data show come first; the evidence follows.
Everything a validation asks of a PD model is on the page: ranking power (AUC, Gini, KS, ROC, KS curve), calibration (log loss, Brier, ECE,
reliability diagram, predicted against observed bad rate per band), separation (score
distributions, gains and lift), stability (PSI of the score, CSI of the top features, PSI month by
month), out-of-time performance month by month, performance per segment (thin-file and new
customers included) and the features the model leans on. Optional sections appear when their
input is given: calibration before and after a recalibration (``raw_probability``), the main model
against benchmark models (``benchmark``), a scorecard's points table (``scorecard_table``), the
fairness review (``fairness``) and the IV and PSI of every candidate characteristic
(``selection_report``).
Every table and plot carries one line saying what it shows and how to read it.

Splits are shown in the order dev, valid, calibration, oot, test, then any other; rows of the split
``"unused"`` (grouped out of every period, e.g. a gap between development and calibration) are
dropped before anything is computed and only counted in the data section.

The page has no external dependency: the CSS is inline and the plots are embedded as base64 PNG
(:mod:`credit_models.reporting.html`, the toolkit every report is written with), so it can be
attached to an e-mail, logged as a run artifact or archived as it is. The opening, verdict,
segment, fairness, selection and scorecard sections are modules of their own (``scope_section``,
``verdict_section``, ``segments_section``, ``fairness_section``, ``selection_section``,
``scorecard_section``). The module takes plain DataFrames, Series and dicts
(:class:`ValidationInputs`) and knows nothing of the experiment tracker or the config system.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from credit_models.evaluation.fairness import FairnessReview
from credit_models.evaluation.metrics import (
    PSI_ACT,
    PSI_STABLE,
    calibration_metrics,
    characteristic_stability,
    gains_table,
    metrics_by_group,
    score_band_table,
    split_metrics_table,
    stability_by_group,
    stability_status,
    stability_table,
)
from credit_models.evaluation.validation_thresholds import ValidationThresholds
from credit_models.explain.global_explanations import beeswarm_plot
from credit_models.reporting import columns
from credit_models.reporting import html as page
from credit_models.reporting.fairness_section import FAIRNESS_HEADING, fairness_section_body
from credit_models.reporting.plots import (
    bad_rate_by_band,
    calibration_before_after,
    calibration_by_split,
    ks_curve,
    psi_by_month,
    roc_by_model,
    roc_by_split,
    score_distributions,
    top_features_bar,
)
from credit_models.reporting.scope_section import (
    data_section_body,
    purpose_section_body,
    split_periods,
)
from credit_models.reporting.scorecard_section import SCORECARD_COLUMNS, scorecard_section_body
from credit_models.reporting.segments_section import (
    SegmentPerformance,
    segment_performance,
    segments_section_body,
)
from credit_models.reporting.selection_section import SELECTION_COLUMNS, selection_section_body
from credit_models.reporting.verdict_section import (
    Evidence,
    Verdict,
    judge,
    limitations,
    limitations_section_body,
    verdict_section_body,
)
from credit_models.split.names import SPLIT_ORDER
from credit_models.split.names import UNUSED as UNUSED_SPLIT

DEFAULT_PD_BAND_EDGES = (0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)
"""PD bands of the score-band table when none are given: finer where most customers are."""
REQUIRED_COLUMNS = ("is_bad", "probability", "split", "as_of")
SECTIONS = {
    "purpose": "Purpose and scope",
    "data": "Data and label definition",
    "verdict": "Verdict against thresholds",
    "limitations": "Limitations",
    "glance": "At a glance",
    "summary": "Headline metrics by split",
    "ranking": "Ranking power: ROC and KS",
    "calibration": "Calibration",
    "distributions": "Score distributions",
    "gains": "Gains and lift by decile",
    "bands": "Score bands",
    "stability": "Stability: PSI of the score and CSI of the features",
    "monthly": "Out-of-time performance by month",
    "segments": "Performance by segment",
    "features": "Top features",
}
"""Section id → title, in page order: the sections every report has."""

OPTIONAL_SECTIONS = {
    "benchmark": "Benchmark models",
    "scorecard": "Scorecard points",
    "fairness": FAIRNESS_HEADING,
    "selection": "Feature selection: IV and PSI per characteristic",
}
"""Sections shown only when their input is given (``benchmark``, ``scorecard_table``,
``fairness``, ``selection_report``)."""

PAGE_ORDER = (
    "purpose", "data", "verdict", "limitations", "glance", "summary", "ranking", "benchmark",
    "calibration", "distributions", "gains", "bands", "stability", "monthly", "segments",
    "fairness", "features", "selection", "scorecard",
)
_TITLES = {**SECTIONS, **OPTIONAL_SECTIONS}


@dataclass(frozen=True, eq=False)
class ValidationInputs:
    """What the report is built from; every frame is aligned row by row with ``scored``.

    Parameters
    ----------
    model_name, label_definition, data_source:
        Shown in the header and the opening sections, e.g. ``"xgb_pd"``, ``"bad = ever 30+ DPD
        within 6 months"``, ``"simulator"``.
    scored:
        One row per labelled snapshot with columns ``is_bad`` (bool or 0/1), ``probability``
        (the predicted PD: the calibrated one when the model is recalibrated), ``split`` (dev /
        valid / calibration / oot, or ``"unused"`` for rows grouped out of every period, which
        the report leaves out) and ``as_of`` (snapshot date).
    run_id:
        The run the report belongs to (empty if none).
    features:
        The feature matrix (numeric and categorical columns), for the CSI of the top features and
        the standard segments; ``None`` leaves both out.
    feature_descriptions:
        Feature name → plain-words description, shown next to the top features.
    feature_importance:
        Feature name → importance (e.g. mean |SHAP|), largest first or not; ``None`` leaves the
        top-features section out and takes the CSI over every feature.
    importance_label:
        What the importance measures, e.g. ``"mean |SHAP| on OOT (log-odds)"``.
    segments:
        Extra segment columns, name → labels (one per row of ``scored``); reported next to the
        standard thin-file and new-customer segments derived from ``features``.
    score_band_edges:
        Strictly increasing PD band limits from 0 to 1 for the score-band table.
    details:
        Extra header lines in plain words, e.g. ``{"Code version (git commit)": "abc1234"}``.
    generated_at:
        The report's date; now (UTC) when ``None``.
    reference_split, test_split:
        The development sample stability is measured from, and the out-of-time sample the
        detailed sections describe.
    bins:
        Bins of the calibration error, deciles of the gains table and bins of the PSI.
    top_features:
        How many features the CSI table and the top-features section show.
    raw_probability:
        The model's uncalibrated PD, one per row of ``scored`` (by position; may be missing on
        ``"unused"`` rows); the calibration section then compares it with ``probability`` split by
        split (reliability diagrams and a table of ECE and mean PD before and after).
    scorecard_table:
        A scorecard's points table, one row per feature and bin, columns ``feature``, ``bin``,
        ``count``, ``bad_rate``, ``woe``, ``coefficient``, ``points``; shown in a "Scorecard
        points" section grouped by feature (in the order given).
    benchmark:
        Benchmark model name → its PD, one per row of ``scored`` (by position; may be missing on
        ``"unused"`` rows), e.g. a WoE scorecard next to the gradient-boosted model; a
        "Benchmark models" section compares AUC, Gini and KS split by split and draws the ROC
        curves on the test split.
    """

    model_name: str
    label_definition: str
    data_source: str
    scored: pd.DataFrame
    run_id: str = ""
    features: pd.DataFrame | None = None
    feature_descriptions: Mapping[str, str] = field(default_factory=dict)
    feature_importance: pd.Series | None = None
    importance_label: str = "importance"
    segments: Mapping[str, ArrayLike] = field(default_factory=dict)
    score_band_edges: Sequence[float] = DEFAULT_PD_BAND_EDGES
    details: Mapping[str, str] = field(default_factory=dict)
    generated_at: pd.Timestamp | None = None
    reference_split: str = "dev"
    test_split: str = "oot"
    bins: int = 10
    top_features: int = 15
    raw_probability: pd.Series | np.ndarray | None = None
    scorecard_table: pd.DataFrame | None = None
    benchmark: Mapping[str, pd.Series | np.ndarray] | None = None
    fairness: FairnessReview | None = None
    """The fairness review of the test split (:func:`~credit_models.evaluation.fairness.
    fairness_review`): a "Fairness" section of approval and PD by sensitive group."""
    thresholds: ValidationThresholds = field(default_factory=ValidationThresholds)
    """The pass and watch levels of the verdict, and when a limitation is stated."""
    oracle_auc: float | None = None
    """On simulated data, the AUC of the simulator's true PD on the test split: the ceiling the
    limitations compare the model with."""
    label_statuses: Mapping[str, int] = field(default_factory=dict)
    """Snapshots per label status (``labelled``, ``excluded_already_bad``…), counted in the
    data section."""
    selection_report: pd.DataFrame | None = None
    """The feature selector's report (one row per candidate characteristic: ``feature``,
    ``iv``, ``psi``, ``kept``, ``reason``; ``description``, ``missing_rate`` and ``warning``
    when present): a "Feature selection" section with the IV/PSI plot."""
    selection_limits: Mapping[str, float | None] = field(default_factory=dict)
    """The selector's ``min_iv``, ``max_psi`` and ``max_iv``, drawn on the IV/PSI plot."""
    selection_rules: str = ""
    """The selection's rule set in words, e.g. ``"tree-model rules"``."""
    contributions: pd.DataFrame | None = None
    """Per-row contributions to the log-odds of bad (SHAP values of trees, a scorecard's
    coefficient × WoE) of a sample of test rows, one column per model feature: drawn as a
    beeswarm in the top-features section, with ``contribution_inputs`` (the same rows' feature
    values, for the colours)."""
    contribution_inputs: pd.DataFrame | None = None
    contribution_label: str = "SHAP value, log-odds of bad"
    """What a contribution is, the beeswarm's axis."""
    validation_auc: float | None = None
    """The validation AUC of the model as validated, where the final model was then refitted
    on the validation rows (its AUC there is in-sample): where the verdict's AUC drop starts."""

    def __post_init__(self) -> None:
        missing = [column for column in REQUIRED_COLUMNS if column not in self.scored]
        if missing:
            raise ValueError(
                f"scored must have columns {list(REQUIRED_COLUMNS)}; missing {missing} "
                f"(got {list(self.scored.columns)})"
            )
        rows = len(self.scored)
        split = self.scored["split"].astype(str).to_numpy()
        splits = set(split) - {UNUSED_SPLIT}
        for name in ("reference_split", "test_split"):
            value = getattr(self, name)
            if value not in splits:
                raise ValueError(
                    f"{name} must be one of the splits in scored {sorted(splits)}; got {value!r}"
                )
        if self.features is not None and len(self.features) != rows:
            raise ValueError(
                f"features must have one row per scored row ({rows}); got {len(self.features)}"
            )
        for name, labels in self.segments.items():
            if len(labels) != rows:
                raise ValueError(
                    f"segment {name!r} must have one label per scored row ({rows}); "
                    f"got {len(labels)}"
                )
        for name in ("bins", "top_features"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
        used = split != UNUSED_SPLIT
        if self.raw_probability is not None:
            _check_probability("raw_probability", self.raw_probability, used)
        for name, probability in (self.benchmark or {}).items():
            _check_probability(f"benchmark {name!r}", probability, used)
        if (self.contributions is None) != (self.contribution_inputs is None) or (
                self.contributions is not None and self.contribution_inputs is not None
                and len(self.contributions) != len(self.contribution_inputs)):
            raise ValueError(
                "contributions and contribution_inputs go together, one row each per explained "
                "row; got "
                + ", ".join(f"{name} {'None' if value is None else f'{len(value)} rows'}"
                            for name, value in (("contributions", self.contributions),
                                                ("contribution_inputs",
                                                 self.contribution_inputs)))
            )
        for name, table, required in (("scorecard_table", self.scorecard_table,
                                       SCORECARD_COLUMNS),
                                      ("selection_report", self.selection_report,
                                       SELECTION_COLUMNS)):
            if table is None:
                continue
            absent = [column for column in required if column not in table]
            if absent:
                raise ValueError(
                    f"{name} must have columns {list(required)}; missing {absent} (got "
                    f"{list(table.columns)})"
                )


def _check_probability(name: str, values: ArrayLike, used: np.ndarray) -> None:
    """One probability per scored row, in [0, 1] on every row the report uses."""
    probability = np.asarray(values, dtype=float)
    if probability.shape != used.shape:
        raise ValueError(
            f"{name} must have one value per scored row ({len(used)}); got shape "
            f"{probability.shape}"
        )
    outside = ~((probability >= 0.0) & (probability <= 1.0)) & used    # NaN counts as outside
    if outside.any():
        raise ValueError(
            f"{name} must be a probability in [0, 1] on every row outside the "
            f"{UNUSED_SPLIT!r} split; got {int(outside.sum())} value(s) outside or missing, "
            f"e.g. {probability[outside][:3].tolist()}"
        )


def _status_badge(value: Any) -> str:
    """A PSI with its reading as a coloured badge (HTML, already escaped)."""
    if page.is_missing(value):
        return page.MISSING
    return f"{float(value):.3f} {page.badge(stability_status(float(value)))}"


def _section(key: str, *parts: str) -> str:
    return page.section(key, _TITLES[key], *parts)


# ---------------------------------------------------------------------------------------------
# The sections
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    """The inputs reshaped once: positional index everywhere."""

    scored: pd.DataFrame
    features: pd.DataFrame | None
    reference: np.ndarray
    test: np.ndarray
    inputs: ValidationInputs
    raw_probability: np.ndarray | None = None
    """The uncalibrated PD, aligned with ``scored``."""
    benchmark: dict[str, np.ndarray] = field(default_factory=dict)
    """Benchmark name → PD, aligned with ``scored``."""
    segments: dict[str, pd.Series] = field(default_factory=dict)
    """The extra segments of the inputs, aligned with ``scored``."""
    unused_rows: int = 0
    """Rows of the ``"unused"`` split, left out of everything."""

    @property
    def split_name(self) -> str:
        """The test split as the text calls it (``OOT``)."""
        return "OOT" if self.inputs.test_split == "oot" else self.inputs.test_split


def _prepare(inputs: ValidationInputs) -> _Prepared:
    """Positional index everywhere, and the rows of the ``"unused"`` split dropped from every
    input aligned with ``scored`` (before any type conversion: their values may be missing)."""
    used = (inputs.scored["split"].astype(str) != UNUSED_SPLIT).to_numpy()

    def kept(values: ArrayLike) -> np.ndarray:
        return np.asarray(values)[used]

    scored = inputs.scored.reset_index(drop=True).loc[used].reset_index(drop=True)
    scored["split"] = scored["split"].astype(str)
    scored["as_of"] = pd.to_datetime(scored["as_of"], utc=True)
    scored["is_bad"] = scored["is_bad"].astype(bool)
    scored["probability"] = scored["probability"].astype(float)
    features = (
        None if inputs.features is None
        else inputs.features.reset_index(drop=True).loc[used].reset_index(drop=True)
    )
    return _Prepared(
        scored=scored, features=features,
        reference=(scored["split"] == inputs.reference_split).to_numpy(),
        test=(scored["split"] == inputs.test_split).to_numpy(),
        inputs=inputs,
        raw_probability=(
            None if inputs.raw_probability is None
            else kept(inputs.raw_probability).astype(float)
        ),
        benchmark={
            str(name): kept(values).astype(float)
            for name, values in (inputs.benchmark or {}).items()
        },
        segments={name: pd.Series(kept(labels)) for name, labels in inputs.segments.items()},
        unused_rows=int((~used).sum()),
    )


def _header(data: _Prepared, generated_at: pd.Timestamp) -> str:
    inputs = data.inputs
    rows = [
        ("Model", inputs.model_name),
        ("Label definition", inputs.label_definition),
        ("Data source", inputs.data_source),
        ("Run id", inputs.run_id or page.MISSING),
        ("Generated", page.utc_minute(generated_at)),
        *((str(key), str(value)) for key, value in inputs.details.items()),
    ]
    return page.page_header(f"Model validation report: {inputs.model_name}",
                            f"Probability-of-default model, {inputs.label_definition}", rows)


_SPLIT_COLUMNS = (
    page.Column("split", "Split", numeric=False),
    columns.ROWS,
    *columns.OUTCOMES,
    columns.AUC,
    columns.GINI,
    columns.KS,
    columns.LOG_LOSS,
    columns.BRIER,
    columns.ECE,
    page.Column("psi_score", "PSI of score", _status_badge, markup=True),
)


def _summary(data: _Prepared, split_table: pd.DataFrame) -> str:
    reference = data.inputs.reference_split
    return _section(
        "summary",
        page.how(
            "One row per split. AUC, Gini (= 2·AUC − 1) and KS measure ranking (higher is "
            "better; a large drop from dev to OOT means over-fitting or drift). Log loss, Brier "
            "and ECE (expected calibration error: the average gap between predicted PD and "
            f"observed bad rate over {data.inputs.bins} equal-frequency PD bins) measure "
            "calibration (lower is better). PSI of score compares each split's PD "
            f"distribution with {reference}: < {PSI_STABLE} stable, {PSI_STABLE}–{PSI_ACT} watch, > {PSI_ACT} act."
        ),
        page.table(split_table.reset_index(), _SPLIT_COLUMNS),
    )


def _glance(
    data: _Prepared, split_table: pd.DataFrame, csi: pd.DataFrame | None,
    monthly: pd.DataFrame, recalibration: pd.DataFrame | None = None,
    benchmark: pd.DataFrame | None = None,
) -> str:
    inputs = data.inputs
    test, reference = split_table.loc[inputs.test_split], split_table.loc[inputs.reference_split]
    name = data.split_name
    facts = [
        (
            f"{name} AUC {test['auc']:.3f} (Gini {test['gini']:.3f}, KS {test['ks']:.3f}) "
            f"against {reference['auc']:.3f} on {inputs.reference_split}: a change of "
            f"{test['auc'] - reference['auc']:+.3f}."
        ),
        (
            f"{name} mean predicted PD {test['mean_probability']:.2%} against an observed bad "
            f"rate of {test['bad_rate']:.2%}; ECE {test['ece']:.4f}."
        ),
        (
            f"PSI of the score from {inputs.reference_split} to {name}: "
            f"{test['psi_score']:.3f} ({stability_status(test['psi_score'])})."
        ),
    ]
    if recalibration is not None:
        row = recalibration.set_index("split").loc[inputs.test_split]
        facts.append(
            f"Recalibration: {name} ECE {row['ece_before']:.4f} before, {row['ece_after']:.4f} "
            f"after; mean PD {row['mean_before']:.2%} before, {row['mean_after']:.2%} after."
        )
    if benchmark is not None:
        test_rows = benchmark[benchmark["split"] == inputs.test_split].iloc[1:]
        facts.extend(
            f"Benchmark {row.model}: {name} AUC {row.auc:.3f} ({row.auc_change:+.3f} against "
            f"the main model)."
            for row in test_rows.itertuples() if not page.is_missing(row.auc)
        )
    auc = monthly["auc"].dropna()
    if len(auc):
        facts.append(
            f"{name} AUC month by month ranges from {auc.min():.3f} to {auc.max():.3f} over "
            f"{len(monthly)} snapshot month(s)."
        )
    if csi is not None and len(csi):
        drifting = csi[csi["csi"] >= PSI_STABLE]
        facts.append(
            f"Top features with CSI ≥ {PSI_STABLE}: "
            + (", ".join(f"{row.feature} ({row.csi:.3f})" for row in drifting.itertuples())
               if len(drifting) else "none")
            + f" (of {len(csi)} checked)."
        )
    return _section(
        "glance",
        page.how("The facts a reviewer checks first, read off the tables below."),
        page.fact_list(facts),
    )


def _purpose(data: _Prepared, periods: pd.DataFrame) -> str:
    inputs = data.inputs
    extras = tuple(text for present, text in (
        (inputs.benchmark, "benchmark models"), (inputs.fairness is not None, "fairness"),
        (inputs.feature_importance is not None, "the features the model leans on"),
        (inputs.selection_report is not None, "feature selection (IV and PSI)"),
        (inputs.scorecard_table is not None, "the scorecard's points"),
    ) if present)
    return _section("purpose", purpose_section_body(
        model_name=inputs.model_name, label_definition=inputs.label_definition,
        data_source=inputs.data_source, periods=periods, test_split=inputs.test_split,
        split_name=data.split_name, reference_split=inputs.reference_split, extras=extras))


def _data(data: _Prepared, periods: pd.DataFrame) -> str:
    inputs = data.inputs
    return _section("data", data_section_body(
        label_definition=inputs.label_definition, data_source=inputs.data_source,
        periods=periods, label_statuses=inputs.label_statuses, unused_rows=data.unused_rows))


def _limitations_found(
    data: _Prepared, verdict: Verdict, periods: pd.DataFrame, monthly: pd.DataFrame,
    segments: SegmentPerformance, csi: pd.DataFrame | None, benchmark: pd.DataFrame | None,
) -> list[str]:
    inputs = data.inputs
    test = periods.set_index("split").loc[inputs.test_split]
    auc = verdict.table.set_index("metric").loc["auc", "value"]
    return limitations(Evidence(
        verdict=verdict, thresholds=inputs.thresholds, split_name=data.split_name,
        test_rows=int(test["rows"]), test_bads=int(test["bads"]), test_auc=float(auc),
        test_months=len(monthly), segments=segments.table, csi=csi,
        oracle_auc=inputs.oracle_auc, fairness=inputs.fairness,
        selection_report=inputs.selection_report,
        max_iv=inputs.selection_limits.get("max_iv"), benchmark=benchmark,
        test_split=inputs.test_split,
    ))


def _split_order(name: str) -> tuple[int, str]:
    return (SPLIT_ORDER.index(name) if name in SPLIT_ORDER else len(SPLIT_ORDER), name)


def _split_groups(data: _Prepared) -> list[tuple[str, pd.DataFrame]]:
    """The rows of each split (positional index), in :data:`SPLIT_ORDER`."""
    groups = [(str(name), part) for name, part in data.scored.groupby("split", sort=False)]
    return sorted(groups, key=lambda item: _split_order(item[0]))


def _curves(data: _Prepared, *, both_classes: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(label, PD) per split in :data:`SPLIT_ORDER`; ``both_classes`` skips one-class splits."""
    curves = {
        name: (part["is_bad"].to_numpy(), part["probability"].to_numpy())
        for name, part in data.scored.groupby("split", sort=False)
        if not both_classes or part["is_bad"].nunique() == 2
    }
    return dict(sorted(curves.items(), key=lambda item: _split_order(item[0])))


def _ranking(data: _Prepared) -> str:
    curves = _curves(data, both_classes=True)
    test = data.scored[data.test]
    figures = [
        page.figure(roc_by_split(curves), "ROC curves by split",
                    "ROC: share of bads caught (true positive rate) against share of goods "
                    "caught (false positive rate) as the PD cut-off falls; the further above the "
                    "diagonal the better, and the curves of the splits should lie close together."),
    ]
    if test["is_bad"].nunique() == 2:
        figures.append(page.figure(
            ks_curve(test["is_bad"], test["probability"],
                     title=f"KS curve ({data.split_name})"),
            "KS curve",
            f"KS curve ({data.split_name}): cumulative shares of bads and goods, riskiest "
            "customers first; KS is the widest gap (dashed line), 0 for a random score and 1 "
            "for a perfect one.",
        ))
    return _section(
        "ranking", page.how("How well the PD orders customers from risky to safe."),
        page.pair(*figures),
    )


_RECALIBRATION_COLUMNS = (
    page.Column("split", "Split", numeric=False),
    columns.ROWS,
    page.Column("bad_rate", "Observed bad rate", page.percent(2)),
    page.Column("mean_before", "Mean PD before", page.percent(2)),
    page.Column("mean_after", "Mean PD after", page.percent(2)),
    page.Column("ece_before", "ECE before", page.number(4)),
    page.Column("ece_after", "ECE after", page.number(4)),
    page.Column("log_loss_before", "Log loss before", page.number(4)),
    page.Column("log_loss_after", "Log loss after", page.number(4)),
)


def _recalibration_table(data: _Prepared, raw_probability: np.ndarray) -> pd.DataFrame:
    """Per split: observed bad rate, and mean PD, ECE and log loss before (``raw_probability``)
    and after (the scored probability)."""
    rows = []
    for name, part in _split_groups(data):
        positions = part.index.to_numpy()
        before = calibration_metrics(
            part["is_bad"], raw_probability[positions], data.inputs.bins
        )
        after = calibration_metrics(part["is_bad"], part["probability"], data.inputs.bins)
        rows.append({
            "split": name, "rows": len(part), "bad_rate": after["bad_rate"],
            "mean_before": before["mean_probability"], "mean_after": after["mean_probability"],
            "ece_before": before["ece"], "ece_after": after["ece"],
            "log_loss_before": before["log_loss"], "log_loss_after": after["log_loss"],
        })
    return pd.DataFrame(rows)


def _calibration(data: _Prepared, recalibration: pd.DataFrame | None) -> str:
    """The reliability diagram by split and, when the raw PD is given (``recalibration`` is
    then its table), the comparison before and after recalibration."""
    curves = _curves(data, both_classes=False)
    parts = [
        page.how("Whether a PD of 5 % means 5 %: predicted and observed bad rates side by side. "
             "See the score-band table for the same comparison on fixed PD bands."),
        page.single(
            page.figure(
                calibration_by_split(curves, data.inputs.bins), "Calibration plot by split",
                f"Reliability diagram: each point is one of {data.inputs.bins} equal-frequency PD "
                "bins of a split; points on the dotted diagonal are calibrated, points above it "
                "mean the model under-predicts risk, below it over-predicts.",
            ),
        ),
    ]
    if recalibration is not None and data.raw_probability is not None:
        fitted_on = (
            "the calibration split (in-sample there: it should sit on the diagonal by "
            "construction; the later splits show whether it holds)"
            if "calibration" in set(recalibration["split"])
            else "a held-out period"
        )
        before_after = {
            name: (part["is_bad"].to_numpy(), data.raw_probability[part.index.to_numpy()],
                   part["probability"].to_numpy())
            for name, part in _split_groups(data)
        }
        parts += [
            "<h3>Before and after recalibration</h3>",
            page.how(
                f"The model's raw PD (before) was recalibrated on {fitted_on}; after is the PD "
                "the model outputs and every other section uses. ECE should fall and the mean "
                "PD should move to the observed bad rate, split by split."
            ),
            page.table(recalibration, _RECALIBRATION_COLUMNS),
            page.figure(
                calibration_before_after(before_after, data.inputs.bins),
                "Calibration before and after by split",
                f"One reliability diagram per split, each in its own {data.inputs.bins} "
                "equal-frequency PD bins: the raw PD dashed in grey, the calibrated PD in the "
                "split's colour; the closer to the dotted diagonal, the better calibrated.",
            ),
        ]
    return _section("calibration", *parts)


_BENCHMARK_COLUMNS = (
    page.Column("split", "Split", numeric=False),
    page.Column("model", "Model", numeric=False),
    columns.ROWS,
    columns.AUC,
    columns.GINI,
    columns.KS,
    page.Column("auc_change", "AUC − main model", page.signed(3)),
)


def _benchmark_table(data: _Prepared) -> pd.DataFrame:
    """Per split, the main model then each benchmark: rows, AUC, Gini, KS, and the benchmark's
    AUC minus the main model's. A one-class split gets no ranking metric (NaN)."""
    scored = data.scored
    models = {data.inputs.model_name: scored["probability"].to_numpy(), **data.benchmark}
    tables = []
    for position, (name, probability) in enumerate(models.items()):
        table = metrics_by_group(scored["is_bad"], probability, scored["split"], data.inputs.bins)
        table = table.rename(columns={"group": "split"})
        table.insert(1, "model", name)
        table["position"] = position
        tables.append(table[["split", "model", "position", "rows", "auc", "gini", "ks"]])
    combined = pd.concat(tables, ignore_index=True)
    main_auc = combined[combined["position"] == 0].set_index("split")["auc"]
    combined["auc_change"] = np.where(
        combined["position"] == 0, np.nan,
        combined["auc"] - main_auc.reindex(combined["split"]).to_numpy(),
    )
    order = combined["split"].map(_split_order)
    combined = combined.assign(order=order).sort_values(["order", "position"], kind="stable")
    return combined.drop(columns=["order", "position"]).reset_index(drop=True)


def _benchmark(data: _Prepared, table: pd.DataFrame) -> str:
    test = data.scored[data.test]
    parts = [
        page.how(
            "The main model's ranking power next to each benchmark's on the same rows, split by "
            "split (higher is better; AUC − main model below zero means the main model ranks "
            "better). A complex model should earn its complexity: a clear, stable lead over a "
            "simple benchmark such as a scorecard, out of time too."
        ),
        page.table(table, _BENCHMARK_COLUMNS),
    ]
    if test["is_bad"].nunique() == 2:
        positions = np.flatnonzero(data.test)
        scores = {
            data.inputs.model_name: test["probability"].to_numpy(),
            **{name: probability[positions] for name, probability in data.benchmark.items()},
        }
        parts += [
            page.single(
                page.figure(
                    roc_by_model(test["is_bad"].to_numpy(), scores,
                                 title=f"ROC by model ({data.split_name})"),
                    "ROC curves by model",
                    f"ROC of the main model (thick line) and each benchmark on the "
                    f"{data.split_name} rows; the curve further above the diagonal ranks better, "
                    "and crossing curves mean each model ranks a different part of the population "
                    "better.",
                ),
            ),
        ]
    else:
        parts.append(page.note(f"The {data.split_name} split has one class only: no ROC curve."))
    return _section("benchmark", *parts)


def _distributions(data: _Prepared) -> str:
    test = data.scored[data.test]
    return _section(
        "distributions",
        page.how(f"Predicted PD of goods and bads in the {data.split_name} sample."),
        page.single(
            page.figure(
                score_distributions(
                    test["is_bad"], test["probability"], log_scale=True, xlabel="predicted PD (log scale)",
                    title=f"Predicted PD of goods and bads ({data.split_name})",
                ),
                "Score distributions of goods and bads",
                "Each class is normalised to 100 %, so the shapes compare whatever the bad rate: bads "
                "should sit to the right (higher PD) of goods, and the less the two overlap, the "
                "better the model separates them.",
            ),
        ),
    )


_GAINS_COLUMNS = (
    page.Column("group", "Decile (1 = riskiest)", page.count),
    page.Column("min_score", "Min PD", page.percent(2)),
    page.Column("max_score", "Max PD", page.percent(2)),
    columns.ROWS,
    columns.BADS,
    columns.BAD_RATE,
    page.Column("cumulative_rows_share", "Cum. rows", page.percent(1)),
    page.Column("cumulative_bads_share", "Cum. bads (gains)", page.percent(1)),
    page.Column("lift", "Lift", page.number(2)),
    page.Column("cumulative_lift", "Cum. lift", page.number(2)),
)


def _gains(data: _Prepared) -> str:
    test = data.scored[data.test]
    table = gains_table(test["is_bad"], test["probability"], data.inputs.bins)
    return _section(
        "gains",
        page.how(
            f"{data.split_name} rows cut into equal-size groups by predicted PD, riskiest first. "
            "Cum. bads is the share of all bads found by declining this group and every riskier "
            "one (e.g. 50 % of bads in the top 20 %); lift is the group's bad rate over the "
            "overall one (1 = no better than random; it should fall steadily down the table)."
        ),
        page.table(table, _GAINS_COLUMNS),
    )


_BAND_COLUMNS = (
    page.Column("band", "PD band", numeric=False),
    columns.ROWS,
    page.Column("rows_share", "Share", page.percent(1)),
    *columns.OUTCOMES,
    page.Column("cumulative_rows_share", "Cum. rows", page.percent(1)),
    page.Column("cumulative_bads_share", "Cum. bads", page.percent(1)),
    page.Column("odds", "Odds good : bad", page.odds),
)


def _bands(data: _Prepared) -> str:
    test = data.scored[data.test]
    table = score_band_table(
        test["is_bad"], test["probability"], data.inputs.score_band_edges,
        probability=test["probability"],
    )
    last = len(table) - 1
    table["band"] = [
        f"{page.short_percent(lower)} – {page.short_percent(upper)}{' (incl.)' if i == last else ''}"
        for i, (lower, upper) in enumerate(zip(table["lower"], table["upper"], strict=True))
    ]
    return _section(
        "bands",
        page.explained_table(
            f"{data.split_name} rows in fixed PD bands [lower, upper), safest first. Bad rate "
            "should rise band "
            "by band and match the mean PD (calibration per band); cumulative shares read as "
            "'approving this band and every safer one accepts x % of customers and y % of the "
            "bads'; odds are goods per bad.",
            table, _BAND_COLUMNS,
            page.figure(
                bad_rate_by_band(table, title=f"Bad rate by PD band ({data.split_name})"),
                "Bad rate by PD band",
                "Bars: observed bad rate per band, with the band's share of rows above; diamonds: "
                "mean predicted PD. A calibrated model puts each diamond at the top of its bar.",
            ),
        ),
    )


def _psi_bin_columns(reference: str, test: str) -> tuple[page.Column, ...]:
    return (
        page.Column("bin", f"PD bin (from {reference} deciles)", numeric=False),
        page.Column("expected_share", f"{reference} share", page.percent(1)),
        page.Column("actual_share", f"{test} share", page.percent(1)),
        page.Column("psi", "PSI term", page.number(4)),
    )


_CSI_COLUMNS = (
    page.Column("feature", "Feature", numeric=False),
    page.Column("kind", "Kind", numeric=False),
    page.Column("bins", "Bins", page.count),
    page.Column("csi", "CSI", _status_badge, markup=True),
)


def _characteristic_stability(data: _Prepared) -> pd.DataFrame | None:
    if data.features is None:
        return None
    features = data.features
    importance = data.inputs.feature_importance
    if importance is not None:
        ranked = importance.sort_values(ascending=False)
        names = [name for name in ranked.index if name in features][: data.inputs.top_features]
    else:
        names = list(features.columns)
    table = characteristic_stability(
        features[data.reference], features[data.test], names, data.inputs.bins
    )
    if importance is None:
        table = table.sort_values("csi", ascending=False).head(data.inputs.top_features)
    return table.reset_index(drop=True)


def _stability(data: _Prepared, csi: pd.DataFrame | None) -> str:
    scored = data.scored
    inputs = data.inputs
    reference_pd = scored.loc[data.reference, "probability"]
    bins = stability_table(reference_pd, scored.loc[data.test, "probability"], inputs.bins)
    total = bins["psi"].sum()
    monthly = stability_by_group(reference_pd, scored["probability"], scored["as_of"], inputs.bins)
    split_of_month = scored.groupby("as_of")["split"].first()
    parts = [
        page.how(
            f"PSI = Σ (a − e)·ln(a / e) over bins cut at the {inputs.reference_split} deciles "
            f"of the score: < {PSI_STABLE} stable, {PSI_STABLE}–{PSI_ACT} watch (investigate), "
            f"> {PSI_ACT} act (the population has changed: recalibrate or rebuild). CSI is the "
            "same for one feature."
        ),
        (
            f'<p class="headline">PSI of the predicted PD, {escape(inputs.reference_split)}'
            f" → {escape(data.split_name)}: {_status_badge(total)}</p>"
        ),
        page.pair(
            "<div>"
            + page.table(bins, _psi_bin_columns(inputs.reference_split, data.split_name))
            + "</div>",
            page.figure(
                psi_by_month(
                    [page.month(month) for month in monthly.index], monthly.to_numpy(),
                    [split_of_month[month] for month in monthly.index],
                ),
                "PSI of the score by month",
                f"PSI of each snapshot month's PD against the whole {inputs.reference_split} "
                f"sample (the {inputs.reference_split} months are in-sample, so they show the "
                "month-to-month noise); the background marks the stable, watch and act zones.",
            ),
        ),
    ]
    if csi is None:
        parts.append(page.note("No feature matrix was given: characteristic stability is left out."))
    else:
        which = (
            f"the top {len(csi)} features by {inputs.importance_label}"
            if inputs.feature_importance is not None
            else f"the {len(csi)} least stable features"
        )
        parts += [
            "<h3>Characteristic stability (CSI) of the top features</h3>",
            page.how(
                f"CSI of {which}, {inputs.reference_split} → {data.split_name}: numeric features "
                f"in {inputs.bins} bins at the {inputs.reference_split} quantiles, categorical "
                "features one bin per category, missing values a bin of their own. A drifting "
                "feature the model leans on explains a drifting score."
            ),
            page.table(csi, _CSI_COLUMNS),
        ]
    return _section("stability", *parts)


_MONTH_COLUMNS = (
    page.Column("group", "Snapshot (as_of)", page.month, numeric=False),
    columns.ROWS,
    *columns.OUTCOMES,
    *columns.GROUP_PERFORMANCE,
    page.Column("psi", "PSI of score", _status_badge, markup=True),
)


def _monthly_table(data: _Prepared) -> pd.DataFrame:
    test = data.scored[data.test]
    table = metrics_by_group(test["is_bad"], test["probability"], test["as_of"], data.inputs.bins)
    reference_pd = data.scored.loc[data.reference, "probability"]
    psi = stability_by_group(reference_pd, test["probability"], test["as_of"], data.inputs.bins)
    table["psi"] = psi.reindex(table["group"]).to_numpy()
    return table


def _monthly(data: _Prepared, table: pd.DataFrame) -> str:
    return _section(
        "monthly",
        page.how(
            f"{data.split_name} metrics per snapshot month. AUC and KS should hold steady month "
            "by month (a downward trend means the model is ageing); mean PD should follow the "
            "bad rate; PSI is each month against the development sample."
        ),
        page.table(table, _MONTH_COLUMNS),
    )


def _segment_performance(data: _Prepared) -> SegmentPerformance:
    return segment_performance(data.scored[data.test], data.test, data.features, data.segments,
                               data.inputs.bins)


def _segments(data: _Prepared, performance: SegmentPerformance) -> str:
    return _section("segments", segments_section_body(performance, data.split_name))


def _fairness(data: _Prepared, review: FairnessReview) -> str:
    return _section("fairness", fairness_section_body(review, f"{data.split_name} customers"))


_FEATURE_COLUMNS = (
    page.Column("rank", "#", page.count),
    page.Column("feature", "Feature", numeric=False),
    page.Column("description", "Description", numeric=False),
    page.Column("importance", "Importance", page.number(4)),
    page.Column("csi", "CSI", _status_badge, markup=True),
)


def _top_features(data: _Prepared, csi: pd.DataFrame | None) -> str:
    inputs = data.inputs
    if inputs.feature_importance is None:
        return _section("features", page.note("No feature importance was given."))
    ranked = inputs.feature_importance.sort_values(ascending=False).head(inputs.top_features)
    stability = (
        csi.set_index("feature")["csi"] if csi is not None else pd.Series(dtype=float)
    )
    table = pd.DataFrame({
        "rank": np.arange(1, len(ranked) + 1),
        "feature": ranked.index.astype(str),
        "description": [inputs.feature_descriptions.get(name, "") for name in ranked.index],
        "importance": ranked.to_numpy(dtype=float),
        "csi": stability.reindex(ranked.index).to_numpy(dtype=float),
    })
    parts = [page.explained_table(
        f"The {len(ranked)} features the model leans on most, by "
        f"{inputs.importance_label}; each should make business sense, and a top feature "
        "with a high CSI deserves a closer look.",
        table, _FEATURE_COLUMNS,
        page.figure(
            top_features_bar(ranked, f"Top features ({data.split_name})", inputs.top_features),
            "Top features",
            f"Bars: {inputs.importance_label}. Longer bars move the predicted PD more; the "
            "order matters more than the values.",
        ),
        scroll=True,
    )]
    if inputs.contributions is not None and inputs.contribution_inputs is not None:
        parts.append(page.single(_contribution_figure(data)))
    return _section("features", *parts)


def _contribution_figure(data: _Prepared) -> str:
    """The beeswarm of the contributions: which way each top feature pushes the PD."""
    inputs = data.inputs
    figure = beeswarm_plot(inputs.contributions, inputs.contribution_inputs,
                           max_display=inputs.top_features,
                           title=f"Contributions of the top features ({data.split_name})")
    figure.axes[0].set_xlabel(inputs.contribution_label)
    return page.figure(
        figure, "Contributions of the top features",
        f"Each dot is one {data.split_name} row: its position is how far the feature pushes "
        f"the PD ({inputs.contribution_label}; right of zero raises it), its colour "
        "the feature's value (blue low, red high, grey missing). A feature whose colours "
        "separate cleanly acts in one direction; check that direction makes business sense.",
        tight=True,
    )


def _selection(data: _Prepared, report: pd.DataFrame) -> str:
    inputs = data.inputs
    return _section("selection", selection_section_body(report, inputs.selection_limits,
                                                        inputs.selection_rules))


def _scorecard(data: _Prepared, table: pd.DataFrame) -> str:
    return _section("scorecard", scorecard_section_body(table, data.inputs.feature_descriptions))


def _footer(inputs: ValidationInputs, generated_at: pd.Timestamp) -> str:
    run = f" for run {inputs.run_id}" if inputs.run_id else ""
    return page.footer(f"Generated {page.utc_minute(generated_at)}{run}.")


def build_validation_report(inputs: ValidationInputs) -> str:
    """The validation report of a scored sample as one self-contained HTML page (a string)."""
    data = _prepare(inputs)
    generated_at = (
        pd.Timestamp.now(tz="UTC") if inputs.generated_at is None
        else pd.Timestamp(inputs.generated_at)
    )
    scored = data.scored
    split_table = split_metrics_table(
        scored["is_bad"], scored["probability"], scored["split"],
        reference_split=inputs.reference_split, bins=inputs.bins,
    )
    split_table = split_table.loc[sorted(split_table.index, key=_split_order)]
    csi = _characteristic_stability(data)
    monthly = _monthly_table(data)
    recalibration = (
        None if data.raw_probability is None
        else _recalibration_table(data, data.raw_probability)
    )
    benchmark = _benchmark_table(data) if data.benchmark else None
    periods = split_periods(scored)
    verdict = judge(split_table, inputs.thresholds, test_split=inputs.test_split,
                    reference_split=inputs.reference_split, split_name=data.split_name,
                    validation_auc=inputs.validation_auc)
    segments = _segment_performance(data)
    found = _limitations_found(data, verdict, periods, monthly, segments, csi, benchmark)
    sections: dict[str, Callable[[], str]] = {
        "purpose": lambda: _purpose(data, periods),
        "data": lambda: _data(data, periods),
        "verdict": lambda: _section("verdict", verdict_section_body(verdict)),
        "limitations": lambda: _section("limitations", limitations_section_body(found)),
        "glance": lambda: _glance(data, split_table, csi, monthly, recalibration, benchmark),
        "summary": lambda: _summary(data, split_table),
        "ranking": lambda: _ranking(data),
        "calibration": lambda: _calibration(data, recalibration),
        "distributions": lambda: _distributions(data),
        "gains": lambda: _gains(data),
        "bands": lambda: _bands(data),
        "stability": lambda: _stability(data, csi),
        "monthly": lambda: _monthly(data, monthly),
        "segments": lambda: _segments(data, segments),
        "features": lambda: _top_features(data, csi),
    }
    if benchmark is not None:
        sections["benchmark"] = lambda: _benchmark(data, benchmark)
    if inputs.scorecard_table is not None:
        sections["scorecard"] = lambda: _scorecard(data, inputs.scorecard_table)
    if inputs.fairness is not None:
        sections["fairness"] = lambda: _fairness(data, inputs.fairness)
    if inputs.selection_report is not None:
        sections["selection"] = lambda: _selection(data, inputs.selection_report)
    shown = [key for key in PAGE_ORDER if key in sections]
    body = [
        _header(data, generated_at),
        page.contents((key, _TITLES[key]) for key in shown),
        *(sections[key]() for key in shown),
        _footer(inputs, generated_at),
    ]
    return page.document(f"Model validation report: {inputs.model_name}", "\n".join(body))
