"""The validation report on a synthetic scored sample: every section, embedded images, escaped
text, well-formed HTML without external resources; the optional sections (calibration before and
after, benchmark models, scorecard points), a calibration split and grouped-out rows; and the plots
it is made of."""

from __future__ import annotations

import base64
import html
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy.special import expit, logit

from credit_models.evaluation.metrics import (
    calibration_metrics,
    ranking_metrics,
    score_band_table,
)
from credit_models.features.spec import TENURE
from credit_models.reporting import plots
from credit_models.reporting.segments_section import UNKNOWN, standard_segments
from credit_models.reporting.validation_report import (
    OPTIONAL_SECTIONS,
    PAGE_ORDER,
    SECTIONS,
    ValidationInputs,
    build_validation_report,
)
from tests.evaluation.test_fairness import check_fairness_section, sample_fairness_review
from tests.html_page import section_html, table_rows

VOID_ELEMENTS = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "wbr"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _TagChecker(HTMLParser):
    """Records unbalanced tags: every opened non-void element must be closed, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images: list[str] = []
        self.alts: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "img":
            self.images.append(attributes.get("src") or "")
            self.alts.append(attributes.get("alt") or "")
        if "id" in attributes:
            self.ids.append(attributes["id"] or "")
        if tag not in VOID_ELEMENTS:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _inputs(scored_sample: tuple, **overrides: object) -> ValidationInputs:
    scored, features, importance = scored_sample
    arguments = {
        "model_name": "xgb_pd <challenger>",
        "label_definition": "bad = ever 30+ DPD within 6 months",
        "data_source": "simulator",
        "scored": scored,
        "run_id": "run-42",
        "features": features,
        "feature_importance": importance,
        "importance_label": "mean |SHAP| on OOT",
        "feature_descriptions": {TENURE: "days since the credit line was opened"},
        "segments": {"region": np.where(np.arange(len(scored)) % 3 == 0, "north", "south")},
        "details": {"Code version": "abc1234"},
        "generated_at": pd.Timestamp("2024-09-01 12:00", tz="UTC"),
    }
    arguments.update(overrides)
    return ValidationInputs(**arguments)


@pytest.fixture(scope="module")
def report(scored_sample: tuple) -> str:
    scored = scored_sample[0]
    tiny = np.full(len(scored), "mixed", dtype=object)
    oot_goods = np.flatnonzero(((scored["split"] == "oot") & ~scored["is_bad"]).to_numpy())
    tiny[oot_goods[:5]] = "goods only"
    region = np.where(np.arange(len(scored)) % 3 == 0, "north", "south")
    return build_validation_report(
        _inputs(scored_sample, segments={"region": region, "tiny": tiny})
    )


def test_report_contains_every_section_in_order(report: str) -> None:
    positions = [report.find(f"<h2>{html.escape(title)}</h2>") for title in SECTIONS.values()]
    assert all(position > 0 for position in positions), dict(zip(SECTIONS, positions,
                                                                 strict=True))
    assert positions == sorted(positions)
    for key in SECTIONS:
        section = re.search(rf'<section id="{key}">(.*?)</section>', report, re.DOTALL)
        assert section is not None, key
        assert '<p class="how">' in section.group(1), f"section {key} has no how-to-read line"


def test_report_header(report: str) -> None:
    header = report[: report.find("<nav>")]
    for text in ("xgb_pd &lt;challenger&gt;", "bad = ever 30+ DPD within 6 months", "simulator",
                 "run-42", "2024-09-01 12:00 UTC", "Code version", "abc1234"):
        assert text in header
    assert "<challenger>" not in report                    # text is escaped


def test_data_section_gives_each_splits_months_rows_and_bads(
    report: str, scored_sample: tuple
) -> None:
    scored = scored_sample[0]
    rows = table_rows(section_html(report, "data"))
    assert [row[0] for row in rows] == ["dev", "valid", "oot"]
    oot = scored[scored["split"] == "oot"]
    assert rows[-1][2:5] == ["2024-04", "2024-06", "3"]
    assert rows[-1][5] == f"{len(oot):,}" and rows[-1][7] == f"{int(oot['is_bad'].sum()):,}"
    assert "Label: bad = ever 30+ DPD within 6 months" in section_html(report, "data")


def test_report_is_well_formed_and_self_contained(report: str) -> None:
    assert report.startswith("<!DOCTYPE html>")
    checker = _TagChecker()
    checker.feed(report)
    checker.close()
    assert checker.errors == []
    assert checker.stack == []
    assert set(SECTIONS) <= set(checker.ids)
    assert checker.alts == [
        "ROC curves by split", "KS curve", "Calibration plot by split",
        "Score distributions of goods and bads", "Bad rate by PD band",
        "PSI of the score by month", "Performance by segment", "Top features",
    ]
    for source in checker.images:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1]).startswith(PNG_MAGIC)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", report)
    assert "<link" not in report and "<script" not in report and "@import" not in report


def test_report_tables_carry_the_expected_content(report: str) -> None:
    for text in ("Decile (1 = riskiest)", "Odds good : bad", "Cum. bads (gains)",
                 "2024-04", "2024-06", "new (&lt; 180 days)", "thin (≤ 3 orders/yr)", "region",
                 "north", "days since the credit line was opened", 'class="badge stable"',
                 "PSI of the predicted PD, dev → OOT"):
        assert text in report, text
    for metric in ("AUC", "Gini", "KS", "Log loss", "Brier", "ECE"):
        assert f">{metric}</th>" in report


def test_report_without_features_or_importance_says_what_is_missing(scored_sample: tuple) -> None:
    page = build_validation_report(_inputs(
        scored_sample, features=None, feature_importance=None, segments={},
    ))
    assert "No feature matrix was given" in page
    assert "No feature importance was given" in page
    assert "No segment could be formed" in page
    assert f"<h2>{html.escape(SECTIONS['features'])}</h2>" in page


def test_report_with_a_one_class_segment(report: str) -> None:
    """Five OOT goods form a segment value of their own: no AUC or KS (–), no error."""
    row = re.search(r"<tr><td[^>]*>tiny</td><td[^>]*>goods only</td>(.*?)</tr>", report)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells[0] == "5"                 # rows
    assert cells[-3:-1] == ["–", "–"]      # AUC and KS


@pytest.mark.parametrize(("overrides", "message"), [
    ({"scored": pd.DataFrame({"is_bad": [True]})}, r"missing \['probability', 'split', 'as_of'\]"),
    ({"test_split": "holdout"}, "test_split must be one of the splits"),
    ({"features": pd.DataFrame({"x": [1.0]})}, "features must have one row per scored row"),
    ({"segments": {"region": ["north"]}}, "segment 'region' must have one label per scored row"),
    ({"bins": 0}, "bins must be an integer >= 1; got 0"),
])
def test_inputs_are_checked(scored_sample: tuple, overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _inputs(scored_sample, **overrides)


def test_standard_segments_from_features() -> None:
    features = pd.DataFrame({
        TENURE: [10.0, 400.0, np.nan], "orders__order__count__365d": [0.0, 3.0, 20.0],
    })
    segments = standard_segments(features)
    assert segments["new customers"].tolist() == [
        "new (< 180 days)", "established (≥ 180 days)", UNKNOWN,
    ]
    assert segments["thin file"].tolist() == [
        "thin (≤ 3 orders/yr)", "thin (≤ 3 orders/yr)", "thick (> 3 orders/yr)",
    ]
    assert standard_segments(pd.DataFrame({"other": [1.0]})) == {}


def test_each_plot_returns_a_figure(scored_sample: tuple) -> None:
    scored = scored_sample[0]
    oot = scored[scored["split"] == "oot"]
    band_table = score_band_table(oot["is_bad"], oot["probability"], [0, 0.05, 0.2, 1],
                                  probability=oot["probability"])
    segment_table = pd.DataFrame({
        "segment": ["thin file", "thin file"], "group": ["thin", "thick"], "rows": [10, 90],
        "auc": [np.nan, 0.7], "bad_rate": [0.0, 0.1], "mean_probability": [0.05, 0.09],
    })
    curves = {"dev": (oot["is_bad"].to_numpy(), oot["probability"].to_numpy())}
    figures = [
        plots.ks_curve(oot["is_bad"], oot["probability"]),
        plots.ks_curve(oot["is_bad"], -oot["probability"], higher_is_riskier=False),
        plots.calibration_by_split(curves),
        plots.score_distributions(oot["is_bad"], oot["probability"], log_scale=True),
        plots.score_distributions(oot["is_bad"], oot["probability"]),
        plots.bad_rate_by_band(band_table),
        plots.psi_by_month(["2024-04", "2024-05"], [0.02, 0.3], ["oot", "oot"]),
        plots.segment_bars(segment_table),
        plots.roc_by_split(curves),
    ]
    assert all(isinstance(figure, Figure) for figure in figures)
    gap = figures[0].axes[0].texts[0].get_text()
    assert gap == figures[1].axes[0].texts[0].get_text()   # points read the other way round
    assert gap.startswith("KS = ")


# ---------------------------------------------------------------------------------------------
# Optional sections, the calibration split and grouped-out rows
# ---------------------------------------------------------------------------------------------

SCORECARD = pd.DataFrame({
    "feature": ["statements__utilisation__mean__90d"] * 3 + [TENURE] * 3,
    "bin": ["(-inf, 0.3)", "[0.3, 0.6)", "[0.6, inf)", "(-inf, 180)", "[180, inf)", "Missing"],
    "count": [3000, 3600, 1000, 1200, 6000, 200],
    "bad_rate": [0.03, 0.06, 0.14, 0.10, 0.05, 0.07],
    "woe": [0.72, 0.05, -0.95, -0.50, 0.20, -0.10],
    "coefficient": [0.9, 0.9, 0.9, 0.55, 0.55, 0.55],
    "points": [38.0, 21.5, -1.4, 9.1, 22.7, 17.3],
})


SELECTION = pd.DataFrame({
    "feature": ["due_outcomes__is_missed__sum__365d", "statements__utilisation__mean__90d",
                TENURE, "customer__channel__value", "orders__order__count__365d"],
    "description": ["missed due dates <365 days>", "mean utilisation, last 90 days",
                    "days since the credit line was opened", "channel", "orders, last year"],
    "missing_rate": [0.0, 0.0, 0.03, 0.0, 0.0],
    "iv": [0.62, 0.21, 0.08, 0.01, 0.12],
    "psi": [0.01, 0.02, 0.31, 0.0, np.nan],
    "kept": [True, True, False, False, True],
    "reason": ["", "", "psi 0.31 > 0.25", "iv 0.01 < 0.02", ""],
    "warning": ["iv 0.62 > 0.5: unusually strong, check for leakage", "", "", "", ""],
})


def _recalibrated_sample(scored_sample: tuple) -> tuple[pd.DataFrame, dict]:
    """The sample re-split as dev (9 months), unused (1), valid (2), calibration (3), oot (3),
    with a raw PD that is too flat (the conftest PD plays the calibrated one) and a weaker
    benchmark; the unused month has missing labels and probabilities, as grouped-out rows may."""
    scored = scored_sample[0].copy()
    month = (scored["as_of"].dt.year - 2023) * 12 + scored["as_of"].dt.month - 1
    scored["split"] = np.select(
        [month < 9, month == 9, month < 12, month < 15],
        ["dev", "unused", "valid", "calibration"], "oot",
    )
    unused = (scored["split"] == "unused").to_numpy()
    raw = pd.Series(expit(0.5 * logit(scored["probability"]) - 0.6)).where(~unused)
    noise = np.random.default_rng(11).normal(0.0, 1.0, len(scored))
    benchmark = pd.Series(expit(logit(scored["probability"]) + noise)).where(~unused)
    scored["is_bad"] = scored["is_bad"].astype(object).where(~unused, None)
    scored.loc[unused, "probability"] = np.nan
    return scored, {
        "raw_probability": raw, "benchmark": {"woe_scorecard": benchmark},
        "scorecard_table": SCORECARD, "selection_report": SELECTION,
        "selection_limits": {"min_iv": 0.02, "max_psi": 0.25, "max_iv": 0.5},
        "selection_rules": "scorecard rules",
    }


@pytest.fixture(scope="module")
def recalibrated(scored_sample: tuple) -> tuple[pd.DataFrame, dict]:
    return _recalibrated_sample(scored_sample)


@pytest.fixture(scope="module")
def full_report(scored_sample: tuple, recalibrated: tuple) -> str:
    scored, optional = recalibrated
    return build_validation_report(_inputs(
        scored_sample, scored=scored, **optional,
        fairness=sample_fairness_review(scored_sample),
        feature_descriptions={
            TENURE: "days since the credit line was opened",
            "statements__utilisation__mean__90d": "mean utilisation <90 days>",
        },
    ))


def test_optional_sections_are_absent_without_their_inputs(report: str) -> None:
    for key, title in OPTIONAL_SECTIONS.items():
        assert f'id="{key}"' not in report
        assert f'href="#{key}"' not in report
        assert f"<h2>{html.escape(title)}</h2>" not in report
    assert "Before and after recalibration" not in report
    assert "ECE before" not in report


def test_full_report_has_every_section_in_page_order(full_report: str) -> None:
    assert set(PAGE_ORDER) == set(SECTIONS) | set(OPTIONAL_SECTIONS)
    positions = [full_report.find(f'<section id="{key}">') for key in PAGE_ORDER]
    assert all(position > 0 for position in positions)
    assert positions == sorted(positions)
    contents = re.findall(r'<li><a href="#(\w+)">', full_report)
    assert contents == list(PAGE_ORDER)
    for key in OPTIONAL_SECTIONS:
        assert '<p class="how">' in section_html(full_report, key), key
    checker = _TagChecker()
    checker.feed(full_report)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    for alt in ("ROC curves by model", "Calibration before and after by split",
                "Scorecard points range per feature", "Approval ratio by sensitive group",
                "Information value against stability per characteristic"):
        assert alt in checker.alts
    check_fairness_section(full_report)
    for source in checker.images:
        assert base64.b64decode(source.split(",", 1)[1]).startswith(PNG_MAGIC)


def test_unused_rows_are_left_out_and_calibration_is_ordered(
    full_report: str, recalibrated: tuple
) -> None:
    scored, _ = recalibrated
    used = scored[scored["split"] != "unused"]
    summary = table_rows(section_html(full_report, "summary"))
    assert [row[0] for row in summary] == ["dev", "valid", "calibration", "oot"]
    assert [int(row[1].replace(",", "")) for row in summary] == [
        int((used["split"] == name).sum()) for name in ("dev", "valid", "calibration", "oot")
    ]
    assert sum(int(row[1].replace(",", "")) for row in summary) == len(scored) - 400
    section = section_html(full_report, "data")
    periods = table_rows(section)
    assert [row[0] for row in periods] == ["dev", "valid", "calibration", "oot"]
    assert "unused: 400 rows grouped out of every period" in section
    assert [row[3] for row in periods][:1] == ["2023-09"]        # dev ends before the gap
    assert "2023-10" not in section
    for key in ("summary", "benchmark", "calibration"):
        assert ">unused<" not in section_html(full_report, key), key


def test_unused_rows_change_nothing_but_the_header_line(
    scored_sample: tuple, recalibrated: tuple
) -> None:
    """Every table and plot is the same whether the unused rows are passed or dropped first."""
    scored, optional = recalibrated
    features = scored_sample[1]
    region = np.where(np.arange(len(scored)) % 3 == 0, "north", "south")
    used = (scored["split"] != "unused").to_numpy()

    def page(keep: np.ndarray) -> str:
        return build_validation_report(_inputs(
            scored_sample, scored=scored[keep], features=features[keep],
            segments={"region": region[keep]},
            raw_probability=optional["raw_probability"][keep],
            benchmark={"woe_scorecard": optional["benchmark"]["woe_scorecard"][keep]},
        ))

    with_unused, without = page(np.ones(len(scored), dtype=bool)), page(used)
    line = re.search(r'<p class="note">unused: 400 rows grouped out of every period.*?</p>',
                     with_unused)
    assert line is not None and "unused" not in without
    assert with_unused.replace(line.group(0), "") == without


def test_calibration_before_and_after(full_report: str, recalibrated: tuple) -> None:
    scored, optional = recalibrated
    section = section_html(full_report, "calibration")
    assert "Before and after recalibration" in section
    assert "recalibrated on the calibration split" in section
    fragment = section[section.find("Before and after recalibration"):]
    rows = table_rows(fragment)
    assert [row[0] for row in rows] == ["dev", "valid", "calibration", "oot"]
    oot = (scored["split"] == "oot").to_numpy()
    is_bad = scored.loc[oot, "is_bad"].astype(bool)
    before = calibration_metrics(is_bad, optional["raw_probability"][oot])
    after = calibration_metrics(is_bad, scored.loc[oot, "probability"])
    assert rows[-1][2:7] == [
        f"{after['bad_rate']:.2%}", f"{before['mean_probability']:.2%}",
        f"{after['mean_probability']:.2%}", f"{before['ece']:.4f}", f"{after['ece']:.4f}",
    ]
    for row in rows:                                  # the raw PD is the worse calibrated one
        assert float(row[5]) > float(row[6]), row
    glance = section_html(full_report, "glance")
    assert f"Recalibration: OOT ECE {before['ece']:.4f} before, {after['ece']:.4f} after" in glance


def test_benchmark_section(full_report: str, recalibrated: tuple) -> None:
    scored, optional = recalibrated
    section = section_html(full_report, "benchmark")
    rows = table_rows(section)
    assert [(row[0], row[1]) for row in rows] == [
        (split, model) for split in ("dev", "valid", "calibration", "oot")
        for model in ("xgb_pd <challenger>", "woe_scorecard")
    ]
    oot = (scored["split"] == "oot").to_numpy()
    is_bad = scored.loc[oot, "is_bad"].astype(bool)
    main = ranking_metrics(is_bad, scored.loc[oot, "probability"])
    benchmark = ranking_metrics(is_bad, optional["benchmark"]["woe_scorecard"][oot])
    assert rows[-2][3:7] == [f"{main['auc']:.3f}", f"{main['gini']:.3f}", f"{main['ks']:.3f}", "–"]
    assert rows[-1][3:7] == [
        f"{benchmark['auc']:.3f}", f"{benchmark['gini']:.3f}", f"{benchmark['ks']:.3f}",
        f"{benchmark['auc'] - main['auc']:+.3f}",
    ]
    assert benchmark["auc"] < main["auc"]             # noise made the benchmark weaker
    assert "ROC by model" not in section              # the title is in the image, not the text
    assert "Benchmark woe_scorecard: OOT AUC" in section_html(full_report, "glance")


def test_scorecard_section(full_report: str) -> None:
    section = section_html(full_report, "scorecard")
    groups = re.findall(r'<tbody class="feature-group">(.*?)</tbody>', section, re.DOTALL)
    assert len(groups) == 2
    first, second = groups
    assert "statements__utilisation__mean__90d" in first
    assert "mean utilisation &lt;90 days&gt;" in first            # described and escaped
    assert "coefficient 0.900 · points -1.4 to 38.0 (range 39.4)" in first
    assert TENURE in second and "days since the credit line was opened" in second
    bins = [re.sub(r"<[^>]+>", "", cells[0]) for cells in (
        re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", second)
    ) if cells]
    assert bins == ["(-inf, 180)", "[180, inf)", "Missing"]
    assert "16.2%" in second and "81.1%" in second     # 1,200 and 6,000 of the feature's 7,400


def test_scorecard_only(scored_sample: tuple) -> None:
    """Each optional input works alone; categories given as lists are joined."""
    table = SCORECARD.assign(bin=SCORECARD["bin"].astype(object))
    table.at[0, "bin"] = ["app", "web"]
    page = build_validation_report(_inputs(scored_sample, scorecard_table=table))
    assert 'id="scorecard"' in page and 'id="benchmark"' not in page
    assert "Before and after recalibration" not in page
    assert "app, web" in page


@pytest.mark.parametrize(("overrides", "message"), [
    ({"raw_probability": np.full(5, 0.1)},
     r"raw_probability must have one value per scored row \(7200\)"),
    ({"raw_probability": np.full(7200, np.nan)},
     "raw_probability must be a probability in \\[0, 1\\] on every row outside the 'unused'"),
    ({"benchmark": {"scorecard": np.full(7200, 1.5)}},
     "benchmark 'scorecard' must be a probability"),
    ({"scorecard_table": SCORECARD.drop(columns=["woe", "points"])},
     r"scorecard_table must have columns .* missing \['woe', 'points'\]"),
])
def test_optional_inputs_are_checked(scored_sample: tuple, overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _inputs(scored_sample, **overrides)


def test_unused_is_not_a_split_to_report_on(recalibrated: tuple, scored_sample: tuple) -> None:
    scored, _ = recalibrated
    with pytest.raises(ValueError, match=r"test_split must be one of the splits in scored "
                                         r"\['calibration', 'dev', 'oot', 'valid'\]"):
        _inputs(scored_sample, scored=scored, test_split="unused")


def test_new_plots_return_figures(scored_sample: tuple) -> None:
    scored = scored_sample[0]
    parts = {name: part for name, part in scored.groupby("split")}
    curves = {
        name: (part["is_bad"].to_numpy(), expit(0.5 * logit(part["probability"])),
               part["probability"].to_numpy())
        for name, part in parts.items()
    }
    before_after = plots.calibration_before_after(curves)
    assert isinstance(before_after, Figure)
    assert sum(axes.get_visible() for axes in before_after.axes) == 3      # 2×2, one hidden
    oot = parts["oot"]
    roc = plots.roc_by_model(oot["is_bad"], {"main": oot["probability"],
                                             "benchmark": oot["probability"] ** 2})
    assert [line.get_label().split(" (")[0] for line in roc.axes[0].lines[:2]] == [
        "main", "benchmark"]
    points = plots.scorecard_points_range(SCORECARD)
    height = {label.get_text(): position for label, position in zip(
        points.axes[0].get_yticklabels(), points.axes[0].get_yticks(), strict=True)}
    assert height["statements__utilisation__mean__90d"] > height[TENURE]   # widest on top
    assert len(set(plots.SPLIT_COLOURS.values())) == len(plots.SPLIT_COLOURS)
