"""The fairness review on a hand-built sample: exact approval, PD and limit ratios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_models.evaluation.fairness import FairnessReview, age_band_labels, fairness_review
from credit_models.features.sensitive import SensitiveAttributes

AGE = "customer__age__value"
MARRIAGE = "customer__marriage__value"
SENSITIVE = SensitiveAttributes({"age": (AGE,), "marital_status": (MARRIAGE,),
                                 "gender": ("customer__sex__value",)})


def sample() -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    # Ten customers: ages 20-24 (4), 30-39 (4), 60+ (2); PD cut-off 0.10.
    features = pd.DataFrame({
        AGE: [20, 21, 22, 24, 30, 31, 35, 39, 60, np.nan],
        MARRIAGE: [1, 1, 2, 2, 1, 2, 2, 2, 1, 1],
        "limit__utilisation__current": np.linspace(0, 1, 10),
    })
    probability = np.array([0.05, 0.20, 0.30, 0.40, 0.02, 0.04, 0.06, 0.30, 0.05, 0.05])
    is_bad = np.array([0, 1, 0, 1, 0, 0, 0, 1, 0, 0])
    limit = np.array([1000, 0, 0, 0, 3000, 2000, 2000, 1000, 4000, 2000], dtype=float)
    return features, probability, is_bad, limit


def test_approval_pd_and_limit_ratios_by_group_are_exact():
    features, probability, is_bad, limit = sample()
    review = fairness_review(probability, features, SENSITIVE, model_inputs=[AGE],
                             approval_pd_cutoff=0.10, age_bands=[25, 35, 60],
                             is_bad=is_bad, limit=limit)
    age = review.groups[review.groups["feature"] == AGE].set_index("group")
    assert list(age.index) == ["< 25", "25–34", "35–59", "60+", "unknown"]
    # Approval: < 25 → 1/4, 25–34 → 2/2, 35–59 → 1/2, 60+ → 1/1, unknown → 1/1.
    assert age["approval_rate"].to_dict() == pytest.approx(
        {"< 25": 0.25, "25–34": 1.0, "35–59": 0.5, "60+": 1.0, "unknown": 1.0})
    assert age.loc["< 25", "approval_ratio"] == pytest.approx(0.25)
    assert age["adverse_impact"].to_dict() == {"< 25": True, "25–34": False, "35–59": True,
                                               "60+": False, "unknown": False}
    # Mean PD: < 25 → 0.2375, 25–34 → 0.03 (lowest), 35–59 → 0.18.
    assert age.loc["< 25", "mean_pd"] == pytest.approx(0.2375)
    assert age.loc["< 25", "pd_ratio"] == pytest.approx(0.2375 / 0.03)
    assert age.loc["25–34", "pd_ratio"] == pytest.approx(1.0)
    assert age.loc["< 25", "bad_rate"] == pytest.approx(0.5)
    # Limits: < 25 → 250, 25–34 → 2500, 60+ → 4000 (highest).
    assert age.loc["< 25", "limit_ratio"] == pytest.approx(250 / 4000)
    assert age["rows"].sum() == 10 and age["share"].sum() == pytest.approx(1.0)

    marriage = review.groups[review.groups["feature"] == MARRIAGE].set_index("group")
    assert list(marriage.index) == ["1", "2"]
    # 1: rows 0, 1, 4, 8, 9 → approved 4/5; 2: rows 2, 3, 5, 6, 7 → approved 2/5.
    assert marriage["approval_rate"].tolist() == pytest.approx([0.8, 0.4])
    assert marriage["approval_ratio"].tolist() == pytest.approx([1.0, 0.5])
    assert review.attributes.to_dict("list") == {
        "attribute": ["age", "marital_status"], "feature": [AGE, MARRIAGE],
        "model_input": [True, False]}


def test_a_group_below_the_minimum_size_shows_its_count_only_and_leaves_the_ratios():
    features, probability, is_bad, limit = sample()
    review = fairness_review(probability, features, SENSITIVE, model_inputs=[AGE],
                             approval_pd_cutoff=0.10, age_bands=[25, 35, 60],
                             is_bad=is_bad, limit=limit, min_group_rows=2)
    age = review.groups[review.groups["feature"] == AGE].set_index("group")
    hidden = ["approval_rate", "approval_ratio", "mean_pd", "pd_ratio", "bad_rate",
              "mean_limit", "limit_ratio"]
    # 60+ and unknown hold one customer each: their count stays, no figure of theirs.
    for group in ("60+", "unknown"):
        assert age.loc[group, "rows"] == 1
        assert age.loc[group, hidden].isna().all()
        assert not age.loc[group, "adverse_impact"]
    # Ratios are read against the groups shown: 25–34 now has the highest mean limit (2500).
    assert age.loc["< 25", "limit_ratio"] == pytest.approx(250 / 2500)
    assert age.loc["25–34", "approval_ratio"] == pytest.approx(1.0)
    assert age["rows"].sum() == 10
    with pytest.raises(ValueError, match="min_group_rows"):
        fairness_review(probability, features, SENSITIVE, model_inputs=[AGE],
                        approval_pd_cutoff=0.10, min_group_rows=0)
    assert review.absent == ("gender",)


def test_without_limits_or_outcomes_the_review_has_no_limit_columns():
    features, probability, _, _ = sample()
    review = fairness_review(probability, features, SENSITIVE, model_inputs=[],
                             approval_pd_cutoff=0.10)
    assert "limit_ratio" not in review.groups
    assert review.groups["bad_rate"].isna().all()


def test_no_approved_group_gives_no_ratio_rather_than_a_division_by_zero():
    features, probability, _, _ = sample()
    review = fairness_review(probability + 0.5, features, SENSITIVE, model_inputs=[],
                             approval_pd_cutoff=0.10)
    assert review.groups["approval_ratio"].isna().all()


@pytest.mark.parametrize("kwargs,message", [
    ({"approval_pd_cutoff": 1.5}, "approval_pd_cutoff"),
    ({"approval_pd_cutoff": 0.1, "age_bands": [35, 25]}, "strictly increasing"),
])
def test_bad_settings_are_refused(kwargs, message):
    features, probability, _, _ = sample()
    with pytest.raises(ValueError, match=message):
        fairness_review(probability, features, SENSITIVE, model_inputs=[], **kwargs)


def test_age_band_labels_read_as_whole_years():
    assert age_band_labels([25, 35]) == ["< 25", "25–34", "35+"]


def sample_fairness_review(scored_sample: tuple) -> FairnessReview:
    """The review of the OOT split of the report tests' sample, with age and marriage added
    (marriage a model input, age not)."""
    scored, features, _ = scored_sample
    rng = np.random.default_rng(3)
    features = features.assign(**{AGE: rng.integers(18, 70, len(features)).astype(float),
                                  MARRIAGE: rng.integers(1, 4, len(features)).astype(float)})
    test = (scored["split"] == "oot").to_numpy()
    return fairness_review(scored["probability"].to_numpy()[test], features[test], SENSITIVE,
                           model_inputs=[MARRIAGE], approval_pd_cutoff=0.10,
                           is_bad=scored["is_bad"].to_numpy()[test])


def check_fairness_section(page: str) -> None:
    """What the validation report built with :func:`sample_fairness_review` must show (the
    report tests build the page once for all their checks)."""
    section = page[page.index('<section id="fairness">'):]
    section = section[:section.index("</section>")]
    assert "Fairness: sensitive attributes" in section
    assert "PD below 10%" in section
    assert f"age ({AGE}): not a model input" in section
    assert f"marital_status ({MARRIAGE}): a model input" in section
    assert "&lt; 25" in section and "55+" in section and "<img" in section
    assert "Not in the data: gender." in section
    assert page.index('id="segments"') < page.index('id="fairness"') < page.index('id="features"')


def test_ratio_plots_are_drawn_in_the_shared_figure_style():
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    from credit_models.evaluation.fairness import approval_ratio_plot, limit_ratio_plot
    from credit_models.explain.figure_style import BASE_FONT, TITLE_SIZE

    features, probability, is_bad, limit = sample()
    review = fairness_review(probability, features, SENSITIVE, model_inputs=[AGE],
                             approval_pd_cutoff=0.10, age_bands=[25, 35, 60],
                             is_bad=is_bad, limit=limit)
    for figure in (approval_ratio_plot(review), limit_ratio_plot(review)):
        assert isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine)
        titles = [axes.title for axes in figure.axes]
        assert len(titles) == 2
        assert all(title.get_fontfamily()[0] == BASE_FONT for title in titles)
        assert all(title.get_fontsize() == TITLE_SIZE for title in titles)
