"""The validation report's judgement: the verdict of each headline metric against the pass and
watch levels of the config (:class:`~credit_models.evaluation.validation_thresholds.
ValidationThresholds`), and the limitations the data show. One module because both judge the
evidence the other sections lay out; neither computes a metric of its own but the AUC's
standard error."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import pandas as pd

from credit_models.evaluation.fairness import FairnessReview
from credit_models.evaluation.validation_thresholds import (
    FAIL,
    PASS,
    WATCH,
    ValidationThresholds,
    overall_status,
)
from credit_models.reporting import html as page
from credit_models.split.names import VALIDATION

_FORMATS = {"auc": "{:.3f}", "ks": "{:.3f}", "ece": "{:.4f}", "psi": "{:.3f}",
            "auc_drop": "{:+.3f}"}
_CONSEQUENCES = {
    "auc": "the model ranks customers by risk less well than the bar set for its use",
    "ks": "goods and bads are separated less than the bar set for its use",
    "ece": "the PD is further from the observed bad rate than the bar: recalibrate before "
           "reading it as a probability (pricing, expected loss)",
    "psi": "the population scored has moved away from development",
    "auc_drop": "the model ranks less well out of time than on validation: it is ageing or "
                "over-fitted",
}


@dataclass(frozen=True)
class Verdict:
    """Each metric against its levels (``table``: metric, label, value, pass_level,
    watch_level, higher_is_better, status), the worst status (``overall``) and what the
    reader must know to read a value (``notes``)."""

    table: pd.DataFrame
    overall: str
    notes: tuple[str, ...] = ()


def judge(split_table: pd.DataFrame, thresholds: ValidationThresholds, *, test_split: str,
          reference_split: str, split_name: str,
          validation_auc: float | None = None) -> Verdict:
    """The verdict of the test split's row of ``split_table`` (one row per split: auc, ks, ece,
    psi_score against ``reference_split``). The AUC drop is from validation when there is a
    validation split, else from ``reference_split``; ``validation_auc`` replaces the validation
    AUC of ``split_table`` where the final model was refitted on the validation rows (its own
    AUC there is in-sample), with a note saying so."""
    test = split_table.loc[test_split]
    before = (VALIDATION if VALIDATION in split_table.index and VALIDATION != test_split
              else reference_split)
    start, notes = split_table.loc[before, "auc"], ()
    if before == VALIDATION and validation_auc is not None and validation_auc != start:
        notes = ((f"The AUC drop starts from the {before} AUC of the model as validated "
                 f"({validation_auc:.3f}): the final model was refitted on the {before} rows, "
                 f"so its own AUC there ({start:.3f}, in the table of splits) is in-sample."),)
        start = validation_auc
    values = {"auc": test["auc"], "ks": test["ks"], "ece": test["ece"],
              "psi": test["psi_score"], "auc_drop": start - test["auc"]}
    table = thresholds.verdict({key: float(value) for key, value in values.items()})
    labels = {
        "auc": f"AUC, {split_name}",
        "ks": f"KS, {split_name}",
        "ece": f"ECE (calibration error), {split_name}",
        "psi": f"PSI of the score, {reference_split} → {split_name}",
        "auc_drop": f"AUC drop, {before} → {split_name}",
    }
    table["label"] = table["metric"].map(labels)
    return Verdict(table, overall_status(table["status"]), notes)


def _value_text(metric: str, value: float) -> str:
    return page.MISSING if page.is_missing(value) else _FORMATS[metric].format(value)


def _levels(row: pd.Series) -> tuple[str, str, str]:
    """The pass, watch and fail ranges of one verdict row, in words."""
    show = _FORMATS[row["metric"]].replace("+", "")
    good, bad = (("≥", "<") if row["higher_is_better"] else ("≤", ">"))
    passed, watched = show.format(row["pass_level"]), show.format(row["watch_level"])
    low, high = sorted((row["pass_level"], row["watch_level"]))
    between = f"{show.format(low)} – {show.format(high)}" if low != high else "–"
    return f"{good} {passed}", between, f"{bad} {watched}"


_COLUMNS = (
    page.Column("label", "Metric", numeric=False),
    page.Column("value_text", "Value"),
    page.Column("pass_text", "Pass"),
    page.Column("watch_text", "Watch"),
    page.Column("fail_text", "Fail"),
    page.Column("status", "Status", lambda value: page.badge(str(value)), numeric=False,
                markup=True),
)


def verdict_section_body(verdict: Verdict) -> str:
    """How to read the verdict, the overall verdict in one line and the table of metrics."""
    table = verdict.table.copy()
    table["value_text"] = [_value_text(metric, value)
                           for metric, value in zip(table["metric"], table["value"], strict=True)]
    levels = [_levels(row) for _, row in table.iterrows()]
    table["pass_text"], table["watch_text"], table["fail_text"] = (
        [level[i] for level in levels] for i in range(3))
    counts = table["status"].value_counts()
    failing = table.loc[table["status"] == FAIL, "label"].tolist()
    watched = table.loc[~table["status"].isin([PASS, FAIL]), "label"].tolist()
    if verdict.overall == PASS:
        summary = "every metric meets its pass level."
    else:
        pieces = [f"{int(counts.get(PASS, 0))} of {len(table)} metrics pass"]
        if failing:
            pieces.append("Fail: " + "; ".join(failing))
        if watched:
            pieces.append("Watch: " + "; ".join(watched))
        summary = ". ".join(pieces) + "."
    headline = (f'<p class="verdict">Overall verdict: {page.badge(verdict.overall)} — '
                f"{escape(summary)}</p>")
    return "".join((
        page.how(
            "Each headline metric against the pass and watch levels of the validation config "
            "(validation.*, e.g. validation.auc_pass). Pass: the metric meets the bar; watch: "
            "usable, but the weakness is to be followed up (monitoring, the next rebuild); "
            "fail: not fit for use as it stands. The overall verdict is the worst of them; a "
            "metric that cannot be measured (n/a) counts as watch."
        ),
        headline,
        page.table(table, _COLUMNS),
        *(page.note(note) for note in verdict.notes),
    ))


# ---------------------------------------------------------------------------------------------
# Limitations
# ---------------------------------------------------------------------------------------------


def auc_standard_error(auc: float, bads: int, goods: int) -> float:
    """Hanley and McNeil's (1982) standard error of an AUC measured on ``bads`` and ``goods``:
    how far the test AUC may be from the model's true one by the luck of the sample."""
    if not (bads and goods) or not math.isfinite(auc):
        return math.nan
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (auc * (1 - auc) + (bads - 1) * (q1 - auc**2)
                + (goods - 1) * (q2 - auc**2)) / (bads * goods)
    return math.sqrt(max(variance, 0.0))


@dataclass(frozen=True)
class Evidence:
    """What the limitations are read from: the verdict, the test split's counts and monthly
    table, and the optional tables of the other sections (``None`` when not shown)."""

    verdict: Verdict
    thresholds: ValidationThresholds
    split_name: str
    test_rows: int
    test_bads: int
    test_auc: float
    test_months: int
    segments: pd.DataFrame | None = None
    csi: pd.DataFrame | None = None
    oracle_auc: float | None = None
    fairness: FairnessReview | None = None
    selection_report: pd.DataFrame | None = None
    max_iv: float | None = None
    benchmark: pd.DataFrame | None = None
    test_split: str = ""


def limitations(evidence: Evidence) -> list[str]:
    """The weaknesses the evidence shows, one sentence each, most fundamental first."""
    found: list[str] = []
    levels, name = evidence.thresholds, evidence.split_name
    if evidence.oracle_auc is not None and math.isfinite(evidence.oracle_auc):
        gap = evidence.oracle_auc - evidence.test_auc
        text = (f"The data are simulated: the results show how the model does on the "
                f"simulator's portfolio, not on a real one. The simulator's true PD ranks the "
                f"{name} rows with AUC {evidence.oracle_auc:.3f}, {abs(gap):.3f} "
                f"{'above' if gap >= 0 else 'below'} the model's {evidence.test_auc:.3f}")
        if gap > levels.oracle_auc_gap:
            text += (f" — more than {levels.oracle_auc_gap:.2f}: part of the risk the "
                     "simulator knows is not captured by the features, or the model under-fits.")
        else:
            text += ": the model captures most of what the data can show."
        found.append(text)
    if evidence.test_bads < levels.min_test_bads:
        error = auc_standard_error(evidence.test_auc, evidence.test_bads,
                                   evidence.test_rows - evidence.test_bads)
        spread = "" if math.isnan(error) else (
            f"; its AUC is known only to about ±{1.96 * error:.3f} (95 %)")
        found.append(
            f"Only {evidence.test_bads:,} bads in the {name} sample (fewer than "
            f"{levels.min_test_bads:,}){spread}, and figures by band, month or segment rest on "
            "a few bads each."
        )
    for _, row in evidence.verdict.table.iterrows():
        if row["status"] in (WATCH, FAIL):
            pass_text = _levels(row)[0]
            found.append(
                f"{row['label']} is {_value_text(row['metric'], row['value'])} "
                f"({row['status']}; pass {pass_text}): {_CONSEQUENCES[row['metric']]}."
            )
        elif row["status"] != PASS:
            found.append(f"{row['label']} could not be measured: judge it by other means.")
    if evidence.test_months < 3:
        found.append(
            f"The {name} sample covers {evidence.test_months} snapshot month(s): whether the "
            "model holds over time cannot be judged from it."
        )
    found.extend(_weaker_segments(evidence))
    found.extend(_drifting_features(evidence))
    found.extend(_fairness_flags(evidence.fairness))
    found.extend(_leakage_flags(evidence.selection_report, evidence.max_iv))
    found.extend(_stronger_benchmarks(evidence))
    return found


def _weaker_segments(evidence: Evidence) -> list[str]:
    table = evidence.segments
    if table is None or not math.isfinite(evidence.test_auc):
        return []
    gap = evidence.thresholds.segment_auc_gap
    weaker = table[table["auc"] < evidence.test_auc - gap].sort_values("auc")
    if weaker.empty:
        return []
    shown = [f"{row.segment} = {row.group}: AUC {row.auc:.3f} ({row.rows:,} rows, "
             f"{int(row.bads):,} bads)" for row in weaker.head(5).itertuples()]
    more = f" and {len(weaker) - 5} more" if len(weaker) > 5 else ""
    return [
        f"Weaker in {len(weaker)} segment value(s), more than {gap:.2f} below the "
        f"{evidence.split_name} AUC of {evidence.test_auc:.3f}: " + "; ".join(shown) + more
        + ". Decisions for these customers rest on a weaker ranking (a small segment's AUC is "
        "itself uncertain)."
    ]


def _drifting_features(evidence: Evidence) -> list[str]:
    csi = evidence.csi
    if csi is None or csi.empty:
        return []
    level = evidence.thresholds.psi_watch
    drifting = csi[csi["csi"] > level].sort_values("csi", ascending=False)
    if drifting.empty:
        return []
    names = ", ".join(f"{row.feature} ({row.csi:.2f})" for row in drifting.itertuples())
    return [
        (f"{len(drifting)} of the {len(csi)} features checked drifted from development to "
        f"{evidence.split_name} (CSI above {level:.2f}): {names}. The model meets values it "
        "saw rarely in development; a feature that grows with time (tenure, age) drifts by "
        "construction.")
    ]


def _fairness_flags(review: FairnessReview | None) -> list[str]:
    if review is None or review.groups.empty or "adverse_impact" not in review.groups:
        return []
    flagged = review.groups[review.groups["adverse_impact"].fillna(False).astype(bool)]
    if flagged.empty:
        return []
    groups = "; ".join(f"{row.attribute} {row.group} ({row.approval_ratio:.2f})"
                       for row in flagged.itertuples())
    return [
        (f"Approval ratio below the four-fifths rule at a PD cut-off of "
        f"{page.short_percent(review.approval_pd_cutoff)}: {groups}. Check the difference is "
        "explained by risk (compare their bad rate) before the PD drives approvals.")
    ]


def _leakage_flags(report: pd.DataFrame | None, max_iv: float | None) -> list[str]:
    if report is None or "warning" not in report:
        return []
    flagged = report[report["warning"].fillna("").astype(str).ne("")]
    if flagged.empty:
        return []
    names = ", ".join(str(name) for name in flagged["feature"].head(8))
    above = f" above {max_iv:g}" if max_iv is not None else ""
    return [
        (f"{len(flagged)} feature(s) have an information value{above}, suspect of leakage: "
        f"{names}. Check each is known on the decision date.")
    ]


def _stronger_benchmarks(evidence: Evidence) -> list[str]:
    table = evidence.benchmark
    if table is None:
        return []
    rows = table[(table["split"] == evidence.test_split) & (table["auc_change"] > 0)]
    return [f"Benchmark {row.model} ranks the {evidence.split_name} rows better than the main "
            f"model (AUC {row.auc_change:+.3f}): the extra complexity does not pay there."
            for row in rows.itertuples()]


def limitations_section_body(found: Sequence[str]) -> str:
    """How the limitations were found, and the list (or that the checks found none)."""
    parts = [page.how(
        "Weaknesses read off the data by fixed checks: on simulated data, the gap to the true "
        "PD (validation.oracle_auc_gap); the size of the test sample (validation.min_test_bads); "
        "every metric of the verdict that does not pass; the months the test covers; segment "
        "values ranked worse than the whole (validation.segment_auc_gap); drifting features; "
        "fairness flags; features suspect of leakage; a benchmark that ranks better. A "
        "reviewer adds what no check can know (e.g. a change of policy or product)."
    )]
    if found:
        parts.append(page.fact_list(found, css="facts limitations"))
    else:
        parts.append(page.paragraph("None found by these checks."))
    return "".join(parts)
