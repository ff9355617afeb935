"""The validation report on a synthetic scored sample: every section, embedded images, escaped
text, well-formed HTML without external resources; and the plots it is made of."""

from __future__ import annotations

import base64
import html
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from credit_models.evaluation import plots
from credit_models.evaluation.metrics import score_band_table
from credit_models.evaluation.report import (
    SECTIONS,
    UNKNOWN,
    ValidationInputs,
    build_validation_report,
    standard_segments,
)
from credit_models.features.spec import TENURE

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
    for text in ("xgb_pd &lt;challenger&gt;", "bad = ever 30+ DPD within 6 months", "simulator",
                 "run-42", "2024-09-01 12:00 UTC", "Code version", "abc1234",
                 "dev: 2023-01 to 2023-12", "oot: 2024-04 to 2024-06"):
        assert text in report
    assert "<challenger>" not in report                    # text is escaped


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
