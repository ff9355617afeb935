"""The validation report reads as a validation document: purpose and scope, data and label, a
verdict judged against the configured thresholds, limitations stated from the data, the IV and
PSI of every characteristic with its plot, and a scorecard without its empty bins."""

from __future__ import annotations

import base64
import html
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from credit_models.evaluation.metrics import ranking_metrics
from credit_models.evaluation.validation_thresholds import ValidationThresholds
from credit_models.features.selection_config import SelectionConfig
from credit_models.models.settings import CalibrationMethod, ModelFamily
from credit_models.reporting.pd_report import importance_label, model_details
from credit_models.reporting.validation_report import ValidationInputs, build_validation_report
from tests.evaluation.conftest import synthetic_scored_sample
from tests.evaluation.test_report import SCORECARD, SELECTION
from tests.html_page import section_html, table_rows

LENIENT = ValidationThresholds(
    auc_pass=0.6, auc_watch=0.55, ks_pass=0.1, ks_watch=0.05, ece_pass=0.2, ece_watch=0.3,
    psi_pass=0.5, psi_watch=0.9, auc_drop_pass=0.3, auc_drop_watch=0.4, min_test_bads=0,
    segment_auc_gap=0.5, oracle_auc_gap=0.5,
)
STRICT = ValidationThresholds(auc_pass=0.99, auc_watch=0.98, min_test_bads=10_000,
                              segment_auc_gap=0.0, oracle_auc_gap=0.01)
"""Out of this model's reach on AUC, and naming every limitation it can."""
EMPTY_BIN = pd.DataFrame({"feature": ["statements__utilisation__mean__90d"], "bin": ["Special"],
                          "count": [0], "bad_rate": [np.nan], "woe": [0.0], "coefficient": [0.9],
                          "points": [99.0]})


@pytest.fixture(scope="module")
def sample() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    return synthetic_scored_sample(rows_per_month=150, seed=3)


@pytest.fixture(scope="module")
def passing(sample: tuple) -> str:
    """Lenient thresholds: every metric passes, no limitation."""
    return _page(sample, thresholds=LENIENT,
                 label_statuses={"labelled": 5400, "excluded_already_bad": 120,
                                 "excluded_inactive": 0})


def _contributions(features: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Made-up contributions of 300 rows: each numeric feature's distance from its mean."""
    rows = features.select_dtypes("number").iloc[:300]
    return 0.1 * (rows - rows.mean()) / rows.std(), rows


@pytest.fixture(scope="module")
def failing(sample: tuple) -> str:
    """Strict thresholds, an oracle, a selection report, contributions and a scorecard with an
    empty bin."""
    contributions, explained = _contributions(sample[1])
    return _page(sample, thresholds=STRICT, oracle_auc=0.99, validation_auc=0.95,
                 contributions=contributions, contribution_inputs=explained,
                 contribution_label="coefficient × WoE, log-odds of bad",
                 selection_report=SELECTION,
                 selection_rules="scorecard rules",
                 selection_limits={"min_iv": 0.02, "max_psi": 0.25, "max_iv": 0.5},
                 scorecard_table=pd.concat([SCORECARD.iloc[:3], EMPTY_BIN, SCORECARD.iloc[3:]],
                                           ignore_index=True))


def _page(sample: tuple, **overrides: object) -> str:
    scored, features, importance = sample
    arguments = {
        "model_name": "pd_test", "label_definition": "bad = ever 30+ DPD within 6 months",
        "data_source": "simulator (folder)", "scored": scored, "features": features,
        "feature_importance": importance,
        "generated_at": pd.Timestamp("2024-09-01 12:00", tz="UTC"),
        **overrides,
    }
    return build_validation_report(ValidationInputs(**arguments))


def _verdict(page: str) -> tuple[str, dict[str, list[str]]]:
    section = section_html(page, "verdict")
    overall = re.search(r'Overall verdict: <span class="badge (\w+)">', section)
    assert overall is not None
    return overall.group(1), {row[0]: row[1:] for row in table_rows(section)}


def test_the_opening_sections_come_first_and_say_what_is_judged(sample, passing):
    page = passing
    order = [page.find(f'<section id="{key}">')
             for key in ("purpose", "data", "verdict", "limitations", "glance", "summary")]
    assert all(position > 0 for position in order) and order == sorted(order)
    purpose = section_html(page, "purpose")
    oot = sample[0][sample[0]["split"] == "oot"]
    assert "Purpose: to establish whether the probability-of-default model pd_test" in purpose
    assert (f"Judged on: the OOT sample, {len(oot):,} rows ({int(oot['is_bad'].sum()):,} bads) "
            "from 2024-04 to 2024-06") in purpose
    assert "Not covered:" in purpose
    data = section_html(page, "data")
    assert "Label: bad = ever 30+ DPD within 6 months" in data
    assert [row[1] for row in table_rows(data)] == [
        "fitting the model and choosing its features", "early stopping and model choice",
        "the verdict: later months, unseen in development"]


def test_label_statuses_are_counted_in_words(passing):
    data = section_html(passing, "data")
    assert "Labelled: 5,400 of 5,520 customer snapshots; left out: already bad at the snapshot 120." in data


def test_the_verdict_shows_the_test_metrics_with_the_levels(sample, passing):
    scored = sample[0]
    overall, rows = _verdict(passing)
    oot, valid = (scored[scored["split"] == name] for name in ("oot", "valid"))
    auc = ranking_metrics(oot["is_bad"], oot["probability"])["auc"]
    drop = ranking_metrics(valid["is_bad"], valid["probability"])["auc"] - auc
    assert rows["AUC, OOT"] == [f"{auc:.3f}", "≥ 0.600", "0.550 – 0.600", "< 0.550", "pass"]
    assert rows["AUC drop, valid → OOT"][0] == f"{drop:+.3f}"
    assert rows["ECE (calibration error), OOT"][1:4] == ["≤ 0.2000", "0.2000 – 0.3000",
                                                         "> 0.3000"]
    assert list(rows) == ["AUC, OOT", "KS, OOT", "ECE (calibration error), OOT",
                          "PSI of the score, dev → OOT", "AUC drop, valid → OOT"]
    assert overall == "pass" and {row[-1] for row in rows.values()} == {"pass"}


def test_the_verdict_follows_the_configured_thresholds(passing, failing):
    """The same model fails where the configured AUC bar is out of its reach."""
    overall, rows = _verdict(failing)
    assert rows["AUC, OOT"][1:] == ["≥ 0.990", "0.980 – 0.990", "< 0.980", "fail"]
    assert overall == "fail" and _verdict(passing)[0] == "pass"
    assert rows["AUC, OOT"][0] == _verdict(passing)[1]["AUC, OOT"][0]
    assert ("2 of 5 metrics pass. Fail: AUC, OOT; AUC drop, valid → OOT. Watch: ECE "
            "(calibration error), OOT.") in section_html(failing, "verdict")
    assert "AUC, OOT is " in section_html(failing, "limitations")


def test_the_auc_drop_starts_from_the_validated_models_auc_when_given(passing, failing):
    """A model refitted on the validation rows is in-sample there: the drop starts from the AUC
    the model had when it was validated."""
    test_auc = float(_verdict(failing)[1]["AUC, OOT"][0])
    drop = float(_verdict(failing)[1]["AUC drop, valid → OOT"][0])
    assert drop == pytest.approx(0.95 - test_auc, abs=2e-3)
    assert "the model as validated (0.950)" in section_html(failing, "verdict")
    assert "as validated" not in section_html(passing, "verdict")


def test_limitations_are_stated_from_the_data(sample, failing):
    scored = sample[0]
    oot_bads = int(scored.loc[scored["split"] == "oot", "is_bad"].sum())
    found = section_html(failing, "limitations")
    items = [html.unescape(re.sub(r"<[^>]+>", "", item))
             for item in re.findall(r"<li>(.*?)</li>", found)]
    assert items[0].startswith("The data are simulated") and "more than 0.01" in items[0]
    assert f"Only {oot_bads:,} bads in the OOT sample (fewer than 10,000)" in items[1]
    assert "its AUC is known only to about ±" in items[1]
    assert any(item.startswith("Weaker in ") and "thin file = " in item for item in items)
    assert any("suspect of leakage: due_outcomes__is_missed__sum__365d" in item
               for item in items)


def test_no_limitation_found_is_said(passing):
    found = section_html(passing, "limitations")
    assert "None found by these checks." in found and "<li>" not in found


def test_selection_section_lists_every_characteristic_with_its_plot(passing, failing):
    page = failing
    section = section_html(page, "selection")
    assert ("3 of 5 characteristics kept by the scorecard rules; dropped: 1 unstable (PSI), "
            "1 weak (IV); 1 flagged.") in section
    rows = table_rows(section)
    assert [row[1] for row in rows] == SELECTION.sort_values("iv", ascending=False)[
        "feature"].tolist()
    first, tenure = rows[0], next(row for row in rows if row[1] == "customer__tenure__days")
    assert first[4] == "0.620 suspect" and first[-1].startswith("kept; iv 0.62 > 0.5")
    assert tenure[4:] == ["0.080 weak", "0.310 act", "dropped: psi 0.31 > 0.25"]
    assert next(row for row in rows if row[1] == "orders__order__count__365d")[5] == "–"
    image = re.search(r'<img src="data:image/png;base64,([^"]+)" alt="Information value against '
                      r'stability per characteristic">', section)
    assert image is not None
    assert base64.b64decode(image.group(1)).startswith(b"\x89PNG")
    assert 'href="#selection"' in page and 'id="selection"' not in passing


def test_a_selection_report_without_its_columns_is_refused(sample):
    with pytest.raises(ValueError, match=r"selection_report must have columns .* missing "
                                         r"\['psi', 'kept'\]"):
        _page(sample, selection_report=SELECTION.drop(columns=["psi", "kept"]))


def test_contributions_are_drawn_beside_the_importance(passing, failing):
    section = section_html(failing, "features")
    assert 'alt="Contributions of the top features"' in section
    assert "(coefficient × WoE, log-odds of bad; right of zero raises it)" in section
    assert 'alt="Contributions of the top features"' not in passing


def test_contributions_need_the_rows_they_explain(sample):
    contributions, explained = _contributions(sample[1])
    with pytest.raises(ValueError, match="contributions and contribution_inputs go together"):
        _page(sample, contributions=contributions)
    with pytest.raises(ValueError, match="contributions 300 rows, contribution_inputs 10 rows"):
        _page(sample, contributions=contributions, contribution_inputs=explained.head(10))


def test_scorecard_hides_empty_bins(failing):
    section = section_html(failing, "scorecard")
    assert ">Special<" not in section and ">99.0<" not in section
    assert "coefficient 0.900 · points -1.4 to 38.0 (range 39.4)" in section
    assert ("1 empty bin(s) not shown: special or missing values no development row had, in 1 "
            "feature(s); a value falling in one scores 99.0 points.") in section
    assert "SHAP" not in section


def _result(family: ModelFamily, **metrics: float) -> SimpleNamespace:
    """What the header and the importance label read of a training result."""
    summary = ({"scorecard_features": 12} if family is ModelFamily.scorecard
               else {"trees": 30, "best_iteration": 29, "monotone_features": 4})
    return SimpleNamespace(
        test_split="oot", metrics=metrics,
        model_settings=SimpleNamespace(family=family, calibration=CalibrationMethod.isotonic),
        explanations=SimpleNamespace(label="mean |SHAP| (log-odds)"),
        model=SimpleNamespace(summary=lambda: summary, n_features_in_=40),
        table=SimpleNamespace(all_inputs=pd.DataFrame(columns=[f"x{i}" for i in range(50)])),
        selection=SelectionConfig(),
        evaluated=SimpleNamespace(metrics={"fit/refit_rows": 1234.0}),
    )


def test_a_scorecards_importance_is_named_for_its_coefficients():
    assert importance_label(_result(ModelFamily.scorecard)) == (
        "mean |coefficient × WoE| (log-odds) on the oot split")
    assert importance_label(_result(ModelFamily.xgboost)).startswith("mean |SHAP|")


def test_the_header_speaks_plain_words():
    details = model_details(_result(ModelFamily.xgboost, **{
        "cv/auc_mean": 0.81, "cv/auc_std": 0.01, "cv/folds": 5.0}), oracle=0.875)
    assert details == {
        "Model type": "gradient-boosted trees (XGBoost), 30 trees, monotone in 4 features",
        "Calibration": "isotonic regression fitted on the calibration split",
        "Features kept by selection": "40 of 50 candidates",
        "Feature selection": "tree-model rules (only unusable features dropped: all missing, "
                             "constant, identifier-like)",
        "Final fit": "refitted on 1,234 pre-test rows with the settings validation chose (the "
                     "test period untouched)",
        "Oracle AUC (simulator's true PD), out-of-time": "0.8750",
        "Cross-validated AUC": "0.8100 ± 0.0100 (5 folds)",
    }
    assert model_details(_result(ModelFamily.scorecard), oracle=None)["Feature selection"] == (
        "scorecard rules (missing, single value, IV, PSI, correlation)")
