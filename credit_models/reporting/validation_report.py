"""The model-validation report: one self-contained HTML page a reviewer reads from top to bottom.

Everything a validation asks of a PD model is on the page: who and what (model, label, data, run,
periods), ranking power (AUC, Gini, KS, ROC, KS curve), calibration (log loss, Brier, ECE,
reliability diagram, predicted against observed bad rate per band), separation (score
distributions, gains and lift), stability (PSI of the score, CSI of the top features, PSI month by
month), out-of-time performance month by month, performance per segment (thin-file and new
customers included) and the features the model leans on. Optional sections appear when their
input is given: calibration before and after a recalibration (``raw_probability``), the main model
against benchmark models (``benchmark``) and a scorecard's points table (``scorecard_table``).
Every table and plot carries one line saying what it shows and how to read it.

Splits are shown in the order dev, valid, calibration, oot, test, then any other; rows of the split
``"unused"`` (grouped out of every period, e.g. a gap between development and calibration) are
dropped before anything is computed and only counted in the header.

The page has no external dependency: the CSS is inline and the plots are embedded as base64 PNG,
so it can be attached to an e-mail, logged as a run artifact or archived as it is. The module takes
plain DataFrames, Series and dicts (:class:`ValidationInputs`) and knows nothing of the experiment
tracker or the config system.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from credit_models.evaluation.fairness import (
    FairnessReview,
    approval_ratio_plot,
    limit_ratio_plot,
)
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
from credit_models.reporting.plots import (
    bad_rate_by_band,
    calibration_before_after,
    calibration_by_split,
    ks_curve,
    psi_by_month,
    roc_by_model,
    roc_by_split,
    score_distributions,
    scorecard_points_range,
    segment_bars,
    top_features_bar,
)
from credit_models.features.spec import TENURE
from credit_models.split.names import SPLIT_ORDER
from credit_models.split.names import UNUSED as UNUSED_SPLIT

DEFAULT_PD_BAND_EDGES = (0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)
"""PD bands of the score-band table when none are given: finer where most customers are."""
REQUIRED_COLUMNS = ("is_bad", "probability", "split", "as_of")
NEW_CUSTOMER_DAYS = 180
"""A customer whose credit line is younger than this at the snapshot is a new customer."""
THIN_FILE_FEATURE = "orders__order__count__365d"
THIN_FILE_MAX_ORDERS = 3
"""A customer with at most this many orders in the 365 days before the snapshot is thin-file."""
UNKNOWN = "unknown"
SCORECARD_COLUMNS = ("feature", "bin", "count", "bad_rate", "woe", "coefficient", "points")

SECTIONS = {
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
    "fairness": "Fairness: sensitive attributes",
}
"""Sections shown only when their input is given (``benchmark``, ``scorecard_table``)."""

PAGE_ORDER = (
    "glance", "summary", "ranking", "benchmark", "calibration", "distributions", "gains",
    "bands", "stability", "monthly", "segments", "fairness", "features", "scorecard",
)
_TITLES = {**SECTIONS, **OPTIONAL_SECTIONS}


@dataclass(frozen=True, eq=False)
class ValidationInputs:
    """What the report is built from; every frame is aligned row by row with ``scored``.

    Parameters
    ----------
    model_name, label_definition, data_source:
        Shown in the header, e.g. ``"xgb_pd"``, ``"bad = ever 30+ DPD within 6 months"``,
        ``"simulator"``.
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
        Extra header lines, e.g. code version or data fingerprint.
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
        if self.scorecard_table is not None:
            absent = [name for name in SCORECARD_COLUMNS if name not in self.scorecard_table]
            if absent:
                raise ValueError(
                    f"scorecard_table must have columns {list(SCORECARD_COLUMNS)}; missing "
                    f"{absent} (got {list(self.scorecard_table.columns)})"
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


def standard_segments(
    features: pd.DataFrame, *, tenure_feature: str = TENURE,
    new_customer_days: int = NEW_CUSTOMER_DAYS, activity_feature: str = THIN_FILE_FEATURE,
    thin_file_max_orders: int = THIN_FILE_MAX_ORDERS,
) -> dict[str, pd.Series]:
    """The segments every validation reports separately, from the feature matrix:

    - ``new customers``: credit line younger than ``new_customer_days`` at the snapshot
      (``tenure_feature``, in days);
    - ``thin file``: at most ``thin_file_max_orders`` orders in the year before the snapshot
      (``activity_feature``).

    A segment whose feature is absent is left out; a missing value is labelled ``"unknown"``.
    """
    segments: dict[str, pd.Series] = {}
    if tenure_feature in features:
        tenure = features[tenure_feature].reset_index(drop=True).astype(float)
        segments["new customers"] = _two_way(
            tenure < new_customer_days, tenure.isna(),
            f"new (< {new_customer_days} days)", f"established (≥ {new_customer_days} days)",
        )
    if activity_feature in features:
        orders = features[activity_feature].reset_index(drop=True).astype(float)
        segments["thin file"] = _two_way(
            orders <= thin_file_max_orders, orders.isna(),
            f"thin (≤ {thin_file_max_orders} orders/yr)",
            f"thick (> {thin_file_max_orders} orders/yr)",
        )
    return segments


def _two_way(condition: pd.Series, unknown: pd.Series, yes: str, no: str) -> pd.Series:
    labels = pd.Series(np.where(condition, yes, no), dtype="str")
    labels[unknown.to_numpy()] = UNKNOWN
    return labels


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------

_MISSING_TEXT = "–"


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _number(digits: int = 3) -> Callable[[Any], str]:
    return lambda value: _MISSING_TEXT if _is_missing(value) else f"{float(value):.{digits}f}"


def _percent(digits: int = 1) -> Callable[[Any], str]:
    return lambda value: _MISSING_TEXT if _is_missing(value) else f"{float(value):.{digits}%}"


def _signed(digits: int = 3) -> Callable[[Any], str]:
    return lambda value: _MISSING_TEXT if _is_missing(value) else f"{float(value):+.{digits}f}"


def _count(value: Any) -> str:
    return _MISSING_TEXT if _is_missing(value) else f"{int(value):,}"


def _amount(value: Any) -> str:
    """An amount of money in whole units with thousands separators: 12345.6 → ``12,346``."""
    return _MISSING_TEXT if _is_missing(value) else f"{float(value):,.0f}"


def _odds(value: Any) -> str:
    if _is_missing(value):
        return _MISSING_TEXT
    return "∞" if np.isinf(value) else f"{float(value):.1f} : 1"


def _pd_text(value: float) -> str:
    """A PD band limit as a percentage: 0.075 → ``7.5%``."""
    return f"{100 * value:.3g}%" if np.isfinite(value) else ("∞" if value > 0 else "−∞")


def _month(value: Any) -> str:
    return pd.Timestamp(value).strftime("%Y-%m")


def _text(value: Any) -> str:
    return _MISSING_TEXT if _is_missing(value) else str(value)


def _status_badge(value: Any) -> str:
    """A PSI with its reading as a coloured badge (HTML, already escaped)."""
    if _is_missing(value):
        return _MISSING_TEXT
    status = stability_status(float(value))
    return f'{float(value):.3f} <span class="badge {status}">{status}</span>'


@dataclass(frozen=True)
class _Column:
    name: str
    header: str
    format: Callable[[Any], str] = _text
    numeric: bool = True
    markup: bool = False
    """The formatter returns HTML (a badge) rather than text to escape."""


def _table(frame: pd.DataFrame, columns: Sequence[_Column], *, scroll: bool = False) -> str:
    head = "".join(
        f'<th class="{"num" if column.numeric else "txt"}">{html.escape(column.header)}</th>'
        for column in columns
    )
    body = []
    for _, row in frame.iterrows():
        cells = []
        for column in columns:
            shown = column.format(row[column.name])
            cells.append(
                f'<td class="{"num" if column.numeric else "txt"}">'
                f"{shown if column.markup else html.escape(shown)}</td>"
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    table = (
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
    return f'<div class="scroll">{table}</div>' if scroll else table


def _figure(figure: Figure, alt: str, how_to_read: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'
        f'<figcaption>{html.escape(how_to_read)}</figcaption></figure>'
    )


def _how(text: str) -> str:
    return f'<p class="how">{html.escape(text)}</p>'


def _section(key: str, *parts: str) -> str:
    return (
        f'<section id="{key}"><h2>{html.escape(_TITLES[key])}</h2>{"".join(parts)}</section>'
    )


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


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
    periods = []
    for name, part in data.scored.groupby("split", sort=False):
        periods.append(
            f"{name}: {_month(part['as_of'].min())} to {_month(part['as_of'].max())} "
            f"({len(part):,} rows, bad rate {part['is_bad'].mean():.2%})"
        )
    periods.sort(key=lambda line: _split_order(line.split(":", 1)[0]))
    if data.unused_rows:
        periods.append(
            f"{UNUSED_SPLIT}: {data.unused_rows:,} rows grouped out of every period, left out "
            "of this report"
        )
    rows = [
        ("Model", inputs.model_name),
        ("Label definition", inputs.label_definition),
        ("Data source", inputs.data_source),
        ("Run id", inputs.run_id or _MISSING_TEXT),
        ("Generated", generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        ("Snapshot periods", periods),
        *((str(key), str(value)) for key, value in inputs.details.items()),
    ]
    lines = "".join(
        f"<tr><th>{html.escape(key)}</th><td>"
        + ("<br>".join(html.escape(line) for line in value) if isinstance(value, list)
           else html.escape(str(value)))
        + "</td></tr>"
        for key, value in rows
    )
    return (
        f"<header><h1>Model validation report: {html.escape(inputs.model_name)}</h1>"
        f'<p class="subtitle">Probability-of-default model, {html.escape(inputs.label_definition)}'
        f'</p><table class="meta">{lines}</table></header>'
    )


def _contents(keys: Sequence[str]) -> str:
    items = "".join(
        f'<li><a href="#{key}">{html.escape(_TITLES[key])}</a></li>' for key in keys
    )
    return f'<nav><h2>Contents</h2><ol>{items}</ol></nav>'


_SPLIT_COLUMNS = (
    _Column("split", "Split", numeric=False),
    _Column("rows", "Rows", _count),
    _Column("bads", "Bads", _count),
    _Column("bad_rate", "Bad rate", _percent(2)),
    _Column("mean_probability", "Mean PD", _percent(2)),
    _Column("auc", "AUC", _number(3)),
    _Column("gini", "Gini", _number(3)),
    _Column("ks", "KS", _number(3)),
    _Column("log_loss", "Log loss", _number(4)),
    _Column("brier", "Brier", _number(4)),
    _Column("ece", "ECE", _number(4)),
    _Column("psi_score", "PSI of score", _status_badge, markup=True),
)


def _summary(data: _Prepared, split_table: pd.DataFrame) -> str:
    reference = data.inputs.reference_split
    return _section(
        "summary",
        _how(
            "One row per split. AUC, Gini (= 2·AUC − 1) and KS measure ranking (higher is "
            "better; a large drop from dev to OOT means over-fitting or drift). Log loss, Brier "
            "and ECE (expected calibration error: the average gap between predicted PD and "
            f"observed bad rate over {data.inputs.bins} equal-frequency PD bins) measure "
            "calibration (lower is better). PSI of score compares each split's PD "
            f"distribution with {reference}: < {PSI_STABLE} stable, {PSI_STABLE}–{PSI_ACT} watch, > {PSI_ACT} act."
        ),
        _table(split_table.reset_index(), _SPLIT_COLUMNS),
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
            for row in test_rows.itertuples() if not _is_missing(row.auc)
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
    items = "".join(f"<li>{html.escape(fact)}</li>" for fact in facts)
    return _section(
        "glance",
        _how("The facts a reviewer checks first, read off the tables below."),
        f'<ul class="facts">{items}</ul>',
    )


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
    parts = [
        '<div class="pair">',
        _figure(roc_by_split(curves), "ROC curves by split",
                "ROC: share of bads caught (true positive rate) against share of goods caught "
                "(false positive rate) as the PD cut-off falls; the further above the diagonal "
                "the better, and the curves of the splits should lie close together."),
    ]
    if test["is_bad"].nunique() == 2:
        parts.append(_figure(
            ks_curve(test["is_bad"], test["probability"],
                     title=f"KS curve ({data.split_name})"),
            "KS curve",
            f"KS curve ({data.split_name}): cumulative shares of bads and goods, riskiest "
            "customers first; KS is the widest gap (dashed line), 0 for a random score and 1 "
            "for a perfect one.",
        ))
    parts.append("</div>")
    return _section(
        "ranking", _how("How well the PD orders customers from risky to safe."), *parts
    )


_RECALIBRATION_COLUMNS = (
    _Column("split", "Split", numeric=False),
    _Column("rows", "Rows", _count),
    _Column("bad_rate", "Observed bad rate", _percent(2)),
    _Column("mean_before", "Mean PD before", _percent(2)),
    _Column("mean_after", "Mean PD after", _percent(2)),
    _Column("ece_before", "ECE before", _number(4)),
    _Column("ece_after", "ECE after", _number(4)),
    _Column("log_loss_before", "Log loss before", _number(4)),
    _Column("log_loss_after", "Log loss after", _number(4)),
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
        _how("Whether a PD of 5 % means 5 %: predicted and observed bad rates side by side. "
             "See the score-band table for the same comparison on fixed PD bands."),
        '<div class="single">',
        _figure(
            calibration_by_split(curves, data.inputs.bins), "Calibration plot by split",
            f"Reliability diagram: each point is one of {data.inputs.bins} equal-frequency PD "
            "bins of a split; points on the dotted diagonal are calibrated, points above it "
            "mean the model under-predicts risk, below it over-predicts.",
        ),
        "</div>",
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
            _how(
                f"The model's raw PD (before) was recalibrated on {fitted_on}; after is the PD "
                "the model outputs and every other section uses. ECE should fall and the mean "
                "PD should move to the observed bad rate, split by split."
            ),
            _table(recalibration, _RECALIBRATION_COLUMNS),
            _figure(
                calibration_before_after(before_after, data.inputs.bins),
                "Calibration before and after by split",
                f"One reliability diagram per split, each in its own {data.inputs.bins} "
                "equal-frequency PD bins: the raw PD dashed in grey, the calibrated PD in the "
                "split's colour; the closer to the dotted diagonal, the better calibrated.",
            ),
        ]
    return _section("calibration", *parts)


_BENCHMARK_COLUMNS = (
    _Column("split", "Split", numeric=False),
    _Column("model", "Model", numeric=False),
    _Column("rows", "Rows", _count),
    _Column("auc", "AUC", _number(3)),
    _Column("gini", "Gini", _number(3)),
    _Column("ks", "KS", _number(3)),
    _Column("auc_change", "AUC − main model", _signed(3)),
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
        _how(
            "The main model's ranking power next to each benchmark's on the same rows, split by "
            "split (higher is better; AUC − main model below zero means the main model ranks "
            "better). A complex model should earn its complexity: a clear, stable lead over a "
            "simple benchmark such as a scorecard, out of time too."
        ),
        _table(table, _BENCHMARK_COLUMNS),
    ]
    if test["is_bad"].nunique() == 2:
        positions = np.flatnonzero(data.test)
        scores = {
            data.inputs.model_name: test["probability"].to_numpy(),
            **{name: probability[positions] for name, probability in data.benchmark.items()},
        }
        parts += [
            '<div class="single">',
            _figure(
                roc_by_model(test["is_bad"].to_numpy(), scores,
                             title=f"ROC by model ({data.split_name})"),
                "ROC curves by model",
                f"ROC of the main model (thick line) and each benchmark on the "
                f"{data.split_name} rows; the curve further above the diagonal ranks better, "
                "and crossing curves mean each model ranks a different part of the population "
                "better.",
            ),
            "</div>",
        ]
    else:
        parts.append(_note(f"The {data.split_name} split has one class only: no ROC curve."))
    return _section("benchmark", *parts)


def _distributions(data: _Prepared) -> str:
    test = data.scored[data.test]
    return _section(
        "distributions",
        _how(f"Predicted PD of goods and bads in the {data.split_name} sample."),
        '<div class="single">',
        _figure(
            score_distributions(
                test["is_bad"], test["probability"], log_scale=True, xlabel="predicted PD (log scale)",
                title=f"Predicted PD of goods and bads ({data.split_name})",
            ),
            "Score distributions of goods and bads",
            "Each class is normalised to 100 %, so the shapes compare whatever the bad rate: bads "
            "should sit to the right (higher PD) of goods, and the less the two overlap, the "
            "better the model separates them.",
        ),
        "</div>",
    )


_GAINS_COLUMNS = (
    _Column("group", "Decile (1 = riskiest)", _count),
    _Column("min_score", "Min PD", _percent(2)),
    _Column("max_score", "Max PD", _percent(2)),
    _Column("rows", "Rows", _count),
    _Column("bads", "Bads", _count),
    _Column("bad_rate", "Bad rate", _percent(2)),
    _Column("cumulative_rows_share", "Cum. rows", _percent(1)),
    _Column("cumulative_bads_share", "Cum. bads (gains)", _percent(1)),
    _Column("lift", "Lift", _number(2)),
    _Column("cumulative_lift", "Cum. lift", _number(2)),
)


def _gains(data: _Prepared) -> str:
    test = data.scored[data.test]
    table = gains_table(test["is_bad"], test["probability"], data.inputs.bins)
    return _section(
        "gains",
        _how(
            f"{data.split_name} rows cut into equal-size groups by predicted PD, riskiest first. "
            "Cum. bads is the share of all bads found by declining this group and every riskier "
            "one (e.g. 50 % of bads in the top 20 %); lift is the group's bad rate over the "
            "overall one (1 = no better than random; it should fall steadily down the table)."
        ),
        _table(table, _GAINS_COLUMNS),
    )


_BAND_COLUMNS = (
    _Column("band", "PD band", numeric=False),
    _Column("rows", "Rows", _count),
    _Column("rows_share", "Share", _percent(1)),
    _Column("bads", "Bads", _count),
    _Column("bad_rate", "Bad rate", _percent(2)),
    _Column("mean_probability", "Mean PD", _percent(2)),
    _Column("cumulative_rows_share", "Cum. rows", _percent(1)),
    _Column("cumulative_bads_share", "Cum. bads", _percent(1)),
    _Column("odds", "Odds good : bad", _odds),
)


def _bands(data: _Prepared) -> str:
    test = data.scored[data.test]
    table = score_band_table(
        test["is_bad"], test["probability"], data.inputs.score_band_edges,
        probability=test["probability"],
    )
    last = len(table) - 1
    table["band"] = [
        f"{_pd_text(lower)} – {_pd_text(upper)}{' (incl.)' if i == last else ''}"
        for i, (lower, upper) in enumerate(zip(table["lower"], table["upper"], strict=True))
    ]
    return _section(
        "bands",
        _how(
            f"{data.split_name} rows in fixed PD bands [lower, upper), safest first. Bad rate "
            "should rise band "
            "by band and match the mean PD (calibration per band); cumulative shares read as "
            "'approving this band and every safer one accepts x % of customers and y % of the "
            "bads'; odds are goods per bad."
        ),
        _table(table, _BAND_COLUMNS),
        '<div class="single">',
        _figure(
            bad_rate_by_band(table, title=f"Bad rate by PD band ({data.split_name})"),
            "Bad rate by PD band",
            "Bars: observed bad rate per band, with the band's share of rows above; diamonds: "
            "mean predicted PD. A calibrated model puts each diamond at the top of its bar.",
        ),
        "</div>",
    )


def _psi_bin_columns(reference: str, test: str) -> tuple[_Column, ...]:
    return (
        _Column("bin", f"PD bin (from {reference} deciles)", numeric=False),
        _Column("expected_share", f"{reference} share", _percent(1)),
        _Column("actual_share", f"{test} share", _percent(1)),
        _Column("psi", "PSI term", _number(4)),
    )


_CSI_COLUMNS = (
    _Column("feature", "Feature", numeric=False),
    _Column("kind", "Kind", numeric=False),
    _Column("bins", "Bins", _count),
    _Column("csi", "CSI", _status_badge, markup=True),
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
        _how(
            f"PSI = Σ (a − e)·ln(a / e) over bins cut at the {inputs.reference_split} deciles "
            f"of the score: < {PSI_STABLE} stable, {PSI_STABLE}–{PSI_ACT} watch (investigate), "
            f"> {PSI_ACT} act (the population has changed: recalibrate or rebuild). CSI is the "
            "same for one feature."
        ),
        (
            f'<p class="headline">PSI of the predicted PD, {html.escape(inputs.reference_split)}'
            f" → {html.escape(data.split_name)}: {_status_badge(total)}</p>"
        ),
        '<div class="pair"><div>',
        _table(bins, _psi_bin_columns(inputs.reference_split, data.split_name)),
        "</div>",
        _figure(
            psi_by_month(
                [_month(month) for month in monthly.index], monthly.to_numpy(),
                [split_of_month[month] for month in monthly.index],
            ),
            "PSI of the score by month",
            f"PSI of each snapshot month's PD against the whole {inputs.reference_split} "
            f"sample (the {inputs.reference_split} months are in-sample, so they show the "
            "month-to-month noise); the background marks the stable, watch and act zones.",
        ),
        "</div>",
    ]
    if csi is None:
        parts.append(_note("No feature matrix was given: characteristic stability is left out."))
    else:
        which = (
            f"the top {len(csi)} features by {inputs.importance_label}"
            if inputs.feature_importance is not None
            else f"the {len(csi)} least stable features"
        )
        parts += [
            "<h3>Characteristic stability (CSI) of the top features</h3>",
            _how(
                f"CSI of {which}, {inputs.reference_split} → {data.split_name}: numeric features "
                f"in {inputs.bins} bins at the {inputs.reference_split} quantiles, categorical "
                "features one bin per category, missing values a bin of their own. A drifting "
                "feature the model leans on explains a drifting score."
            ),
            _table(csi, _CSI_COLUMNS),
        ]
    return _section("stability", *parts)


_MONTH_COLUMNS = (
    _Column("group", "Snapshot (as_of)", _month, numeric=False),
    _Column("rows", "Rows", _count),
    _Column("bads", "Bads", _count),
    _Column("bad_rate", "Bad rate", _percent(2)),
    _Column("mean_probability", "Mean PD", _percent(2)),
    _Column("auc", "AUC", _number(3)),
    _Column("ks", "KS", _number(3)),
    _Column("ece", "ECE", _number(4)),
    _Column("psi", "PSI of score", _status_badge, markup=True),
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
        _how(
            f"{data.split_name} metrics per snapshot month. AUC and KS should hold steady month "
            "by month (a downward trend means the model is ageing); mean PD should follow the "
            "bad rate; PSI is each month against the development sample."
        ),
        _table(table, _MONTH_COLUMNS),
    )


_SEGMENT_COLUMNS = (
    _Column("segment", "Segment", numeric=False),
    _Column("group", "Value", numeric=False),
    _Column("rows", "Rows", _count),
    _Column("share", "Share", _percent(1)),
    _Column("bads", "Bads", _count),
    _Column("bad_rate", "Bad rate", _percent(2)),
    _Column("mean_probability", "Mean PD", _percent(2)),
    _Column("auc", "AUC", _number(3)),
    _Column("ks", "KS", _number(3)),
    _Column("ece", "ECE", _number(4)),
)


def _segments(data: _Prepared) -> str:
    inputs = data.inputs
    standard = standard_segments(data.features) if data.features is not None else {}
    segments = {**standard, **data.segments}
    notes = []
    if "new customers" not in standard:
        notes.append(f"new customers need the feature {TENURE}")
    if "thin file" not in standard:
        notes.append(f"thin-file customers need the feature {THIN_FILE_FEATURE}")
    if not segments:
        return _section(
            "segments",
            _note("No segment could be formed: " + "; ".join(notes) + "."),
        )
    test = data.scored[data.test]
    tables = []
    for name, labels in segments.items():
        values = labels.reset_index(drop=True)[data.test]
        values = values.astype(object).where(values.notna(), UNKNOWN).astype(str)
        table = metrics_by_group(test["is_bad"], test["probability"], values, inputs.bins)
        table.insert(0, "segment", name)
        table["share"] = table["rows"] / len(test)
        tables.append(table)
    combined = pd.concat(tables, ignore_index=True)
    parts = [
        _how(
            f"{data.split_name} metrics for each segment value. Models tend to misjudge "
            "thin-file and new customers: compare their AUC with the rest and their mean PD "
            "with their bad rate. A segment with only goods or only bads has no AUC or KS (–)."
        ),
        _table(combined, _SEGMENT_COLUMNS),
        '<div class="single">',
        _figure(
            segment_bars(combined, title=f"Performance by segment ({data.split_name})"),
            "Performance by segment",
            "Left: AUC per segment value (the dotted line is a random score). Right: observed "
            "bad rate against mean predicted PD; a calibrated model gives bars of equal length.",
        ),
        "</div>",
    ]
    if notes:
        parts.append(_note("Not shown: " + "; ".join(notes) + "."))
    return _section("segments", *parts)


_FAIRNESS_COLUMNS = (
    _Column("attribute", "Attribute", numeric=False),
    _Column("group", "Group", numeric=False),
    _Column("rows", "Rows", _count),
    _Column("share", "Share", _percent(1)),
    _Column("approval_rate", "Approved", _percent(1)),
    _Column("approval_ratio", "Approval ratio", _number(2)),
    _Column("four_fifths", "Four-fifths", numeric=False),
    _Column("mean_pd", "Mean PD", _percent(2)),
    _Column("pd_ratio", "PD ratio", _number(2)),
    _Column("bad_rate", "Bad rate", _percent(2)),
)
_FAIRNESS_LIMIT_COLUMNS = (
    _Column("mean_limit", "Mean limit", _amount),
    _Column("limit_ratio", "Limit ratio", _number(2)),
)


def fairness_section_body(review: FairnessReview, population: str) -> str:
    """The fairness section's content — how to read it, which attributes are model inputs, the
    table by group and its plots — shared by the validation report and the limit report, so the
    two cannot drift apart. ``population`` names the rows, e.g. ``"OOT customers"``; a review with
    limits adds the mean limit and limit ratio columns and a limit-ratio plot."""
    cutoff = _pd_text(review.approval_pd_cutoff)
    has_limits = "limit_ratio" in review.groups
    parts = [_how(
        f"{population} by each sensitive attribute found in the data. Approved = "
        f"PD below {cutoff}. Approval ratio = the group's approval rate over the most approved "
        "group's; below 0.80 the four-fifths rule flags adverse impact. PD ratio = the group's "
        "mean PD over the lowest group mean PD. "
        + ("Mean limit = the group's mean recommended limit; limit ratio = that over the highest "
           "group mean limit. " if has_limits else "")
        + "Sensitive attributes are never given to a customer as a reason, whether or not the "
        "model uses them."
    )]
    if review.attributes.empty:
        parts.append(_note("No sensitive attribute is present in the data: nothing to compare."))
    else:
        uses = "; ".join(
            f"{row.attribute} ({row.feature}): "
            + ("a model input" if row.model_input else "not a model input")
            for row in review.attributes.itertuples())
        parts.append(f'<p class="headline">{html.escape(uses)}.</p>')
        table = review.groups.assign(
            attribute=review.groups["attribute"] + " (" + review.groups["feature"] + ")",
            four_fifths=np.select(
                [review.groups["approval_rate"].isna(), review.groups["adverse_impact"]],
                ["too few to show", "below 0.8"], "ok"))
        columns = _FAIRNESS_COLUMNS + (_FAIRNESS_LIMIT_COLUMNS if has_limits else ())
        parts.append(_table(table, columns, scroll=True))
        parts.append('<div class="pair">' if has_limits else '<div class="single">')
        parts.append(_figure(
            approval_ratio_plot(review), "Approval ratio by sensitive group",
            "Each group's approval rate over the most approved group's; red bars fall below the "
            "four-fifths line (0.8)."))
        if has_limits:
            parts.append(_figure(
                limit_ratio_plot(review), "Limit ratio by sensitive group",
                "Each group's mean recommended limit over the highest group mean limit."))
        parts.append("</div>")
    if review.groups["approval_rate"].isna().any():
        parts.append(_note("A group too small to show (fairness.min_group_rows) gives its count "
                           "only, so that no figure is one customer's; the ratios compare the "
                           "groups shown."))
    if review.absent:
        parts.append(_note("Not in the data: " + ", ".join(review.absent) + "."))
    return "".join(parts)


def _fairness(data: _Prepared, review: FairnessReview) -> str:
    return _section("fairness", fairness_section_body(review, f"{data.split_name} customers"))


_FEATURE_COLUMNS = (
    _Column("rank", "#", _count),
    _Column("feature", "Feature", numeric=False),
    _Column("description", "Description", numeric=False),
    _Column("importance", "Importance", _number(4)),
    _Column("csi", "CSI", _status_badge, markup=True),
)


def _top_features(data: _Prepared, csi: pd.DataFrame | None) -> str:
    inputs = data.inputs
    if inputs.feature_importance is None:
        return _section("features", _note("No feature importance was given."))
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
    return _section(
        "features",
        _how(
            f"The {len(ranked)} features the model leans on most, by "
            f"{inputs.importance_label}; each should make business sense, and a top feature "
            "with a high CSI deserves a closer look."
        ),
        _table(table, _FEATURE_COLUMNS, scroll=True),
        '<div class="single">',
        _figure(
            top_features_bar(ranked, f"Top features: {inputs.importance_label}",
                             inputs.top_features),
            "Top features",
            "Longer bars move the predicted PD more; the order matters more than the values.",
        ),
        "</div>",
    )


def _bin_text(value: Any) -> str:
    """A bin label: an interval as it is, a list of categories joined by commas."""
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(str(item) for item in value)
    return _text(value)


_SCORECARD_COLUMNS = (
    _Column("bin", "Bin", _bin_text, numeric=False),
    _Column("count", "Count", _count),
    _Column("share", "Share", _percent(1)),
    _Column("bad_rate", "Bad rate", _percent(2)),
    _Column("woe", "WoE", _number(3)),
    _Column("points", "Points", _number(1)),
)


def _scorecard_rows(feature: str, part: pd.DataFrame, description: str) -> str:
    """One feature's group of the points table: a heading row, then one row per bin."""
    coefficients = part["coefficient"].dropna().unique()
    points = part["points"].astype(float)
    heading = [f'<span class="feature-name">{html.escape(feature)}</span>']
    if description:
        heading.append(f'<span class="description">{html.escape(description)}</span>')
    facts = []
    if len(coefficients):
        facts.append("coefficient " + ", ".join(f"{float(value):.3f}" for value in coefficients))
    if points.notna().any():
        facts.append(f"points {points.min():.1f} to {points.max():.1f} "
                     f"(range {points.max() - points.min():.1f})")
    if facts:
        heading.append(f'<span class="facts">{html.escape(" · ".join(facts))}</span>')
    cells = []
    for _, row in part.iterrows():
        cells.append("<tr>" + "".join(
            f'<td class="{"num" if column.numeric else "txt"}">'
            f"{html.escape(column.format(row[column.name]))}</td>"
            for column in _SCORECARD_COLUMNS
        ) + "</tr>")
    return (
        f'<tbody class="feature-group"><tr><th class="group" colspan="{len(_SCORECARD_COLUMNS)}">'
        + " ".join(heading) + "</th></tr>" + "".join(cells) + "</tbody>"
    )


def _scorecard(data: _Prepared, table: pd.DataFrame) -> str:
    inputs = data.inputs
    table = table.reset_index(drop=True).copy()
    counts = table["count"].astype(float)
    table["share"] = counts / counts.groupby(table["feature"], sort=False).transform("sum")
    head = "".join(
        f'<th class="{"num" if column.numeric else "txt"}">{html.escape(column.header)}</th>'
        for column in _SCORECARD_COLUMNS
    )
    groups = "".join(
        _scorecard_rows(str(feature), part, inputs.feature_descriptions.get(feature, ""))
        for feature, part in table.groupby("feature", sort=False)
    )
    features = table["feature"].nunique()
    return _section(
        "scorecard",
        _how(
            f"The scorecard's {features} feature(s), each with its bins in order: count and "
            "share of the feature's rows, bad rate, WoE = ln(%good / %bad) (positive: fewer bads "
            "than average) and the points the bin adds to the score. The coefficient is the "
            "regression weight of the feature's WoE; a bin's points follow coefficient × WoE, "
            "so points should move with the bad rate, bin by bin, in one direction."
        ),
        f'<div class="scroll"><table class="scorecard"><thead><tr>{head}</tr></thead>'
        f"{groups}</table></div>",
        '<div class="single">',
        _figure(
            scorecard_points_range(table, title="Scorecard: points range per feature"),
            "Scorecard points range per feature",
            "Each bar spans a feature's lowest- to highest-scoring bin: the widest bars are the "
            "features that can move a customer's score the most.",
        ),
        "</div>",
    )


_CSS = """
:root { --ink: #1f2933; --muted: #5f6b7a; --line: #d9dee5; --head: #f1f4f8; --accent: #2f5d8a; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: var(--ink);
  font: 14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; background: #fff;
  box-shadow: 0 0 0 1px var(--line); }
header h1 { margin: 0 0 2px; font-size: 24px; color: var(--accent); }
.subtitle { margin: 0 0 14px; color: var(--muted); }
h2 { margin: 36px 0 6px; padding-bottom: 4px; font-size: 19px; border-bottom: 2px solid var(--accent); }
h3 { margin: 22px 0 4px; font-size: 15px; }
nav { margin: 18px 0 0; padding: 8px 16px; background: var(--head); border-radius: 6px; }
nav h2 { margin: 4px 0; font-size: 14px; border: 0; }
nav ol { margin: 0; padding-left: 20px; columns: 2; }
nav a { color: var(--accent); text-decoration: none; }
p.how { margin: 2px 0 10px; color: var(--muted); font-size: 13px; }
p.note { color: var(--muted); font-style: italic; }
p.headline { font-size: 15px; margin: 8px 0; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 12.5px; }
th, td { padding: 4px 9px; border-bottom: 1px solid var(--line); }
thead th { background: var(--head); font-weight: 600; border-bottom: 2px solid var(--line);
  vertical-align: bottom; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.txt, th.txt { text-align: left; }
table.meta th { text-align: left; width: 170px; background: none; color: var(--muted);
  font-weight: 600; vertical-align: top; }
table.meta td { text-align: left; }
.scroll { overflow-x: auto; }
table.scorecard { min-width: 560px; }
table.scorecard th.group { text-align: left; background: #e8eef5; font-weight: 600;
  border-top: 2px solid var(--line); }
table.scorecard th.group .description { margin-left: 8px; color: var(--muted); font-weight: 400; }
table.scorecard th.group .facts { float: right; margin-left: 16px; color: var(--muted);
  font-weight: 400; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; min-width: 46px; padding: 0 6px; border-radius: 9px;
  font-size: 11px; font-weight: 600; text-align: center; }
.badge.stable { background: #dcefdc; color: #1e6b2e; }
.badge.watch { background: #fbecc8; color: #8a5a00; }
.badge.act { background: #f6d0d0; color: #9b1c1c; }
ul.facts { margin: 4px 0; padding-left: 20px; }
ul.facts li { margin: 3px 0; }
figure { margin: 8px 0 16px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { margin-top: 4px; color: var(--muted); font-size: 12.5px; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; align-items: start; }
.single figure img { max-width: 820px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media (max-width: 900px) { .pair { grid-template-columns: 1fr; } main { padding: 16px; } }
@media print { body { background: #fff; } main { box-shadow: none; } section { break-inside: avoid; } }
"""


def _footer(inputs: ValidationInputs, generated_at: pd.Timestamp) -> str:
    run = f" for run {html.escape(inputs.run_id)}" if inputs.run_id else ""
    return f"<footer>Generated {generated_at.strftime('%Y-%m-%d %H:%M UTC')}{run}.</footer>"


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
    sections: dict[str, Callable[[], str]] = {
        "glance": lambda: _glance(data, split_table, csi, monthly, recalibration, benchmark),
        "summary": lambda: _summary(data, split_table),
        "ranking": lambda: _ranking(data),
        "calibration": lambda: _calibration(data, recalibration),
        "distributions": lambda: _distributions(data),
        "gains": lambda: _gains(data),
        "bands": lambda: _bands(data),
        "stability": lambda: _stability(data, csi),
        "monthly": lambda: _monthly(data, monthly),
        "segments": lambda: _segments(data),
        "features": lambda: _top_features(data, csi),
    }
    if benchmark is not None:
        sections["benchmark"] = lambda: _benchmark(data, benchmark)
    if inputs.scorecard_table is not None:
        sections["scorecard"] = lambda: _scorecard(data, inputs.scorecard_table)
    if inputs.fairness is not None:
        sections["fairness"] = lambda: _fairness(data, inputs.fairness)
    shown = [key for key in PAGE_ORDER if key in sections]
    body = [
        _header(data, generated_at),
        _contents(shown),
        *(sections[key]() for key in shown),
        _footer(inputs, generated_at),
    ]
    title = html.escape(f"Model validation report: {inputs.model_name}")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )
