"""One style on every figure, and Chinese text that renders."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import optuna
import pandas as pd
import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.text import Text

from credit_models.evaluation.monitoring import monitor_batch
from credit_models.explain import figure_style
from credit_models.explain.figure_style import TITLE_SIZE, cjk_font, font_family, styled
from credit_models.explain.global_explanations import (
    dependence_plots,
    importance_drift,
    importance_drift_plot,
)
from credit_models.explain.reason_frequency import reason_frequencies, reason_frequency_figure
from credit_models.labels.vintage import RollRates
from credit_models.reporting import plots
from credit_models.reporting.limits_report import limits_by_band_figure
from credit_models.reporting.monitoring_report import monitoring_figures
from credit_models.reporting.portfolio_plots import (
    monthly_volume_plot,
    roll_rate_heatmap,
    vintage_curves_plot,
)
from credit_models.reporting.selection_plots import iv_psi_plot
from credit_models.reporting.tuning_plots import study_plots
from tests.evaluation.test_monitoring import FEATURES, sample

RNG = np.random.default_rng(0)
IS_BAD = RNG.random(300) < 0.2
SCORE = np.clip(0.15 + 0.3 * IS_BAD + RNG.normal(0, 0.1, 300), 0.001, 0.999)
NAMES = ["orders__amount_sum_6m", "bills__overdue_days_max_12m", "customer__age"]
VALUES = pd.DataFrame(RNG.normal(size=(300, 3)), columns=NAMES)
SHAP = pd.DataFrame(RNG.normal(size=(300, 3)) * [1.0, 0.5, 0.2], columns=NAMES)
BANDS = pd.DataFrame({"band": ["A", "B", "C"], "bad_rate": [0.02, 0.1, 0.3],
                      "mean_probability": [0.03, 0.09, 0.28], "rows_share": [0.5, 0.3, 0.2]})
SEGMENTS = pd.DataFrame({"segment": ["channel", "channel"], "group": ["app", "web"],
                         "rows": [200, 100], "auc": [0.8, np.nan], "bad_rate": [0.1, 0.2],
                         "mean_probability": [0.12, 0.18]})
BY_BAND = pd.DataFrame({"customers": [120, 80], "current_limit_mean": [9000.0, 4000.0],
                        "new_limit_mean": [9500.0, 3000.0]}, index=pd.Index(["A", "B"]))
REASONS = pd.DataFrame({
    "reason_1_code": ["R01", "R02", "R01"],
    "reason_1_zh": ["近期有逾期", "额度使用率高", "近期有逾期"],
    "reason_1_en": ["recent delinquency", "high use", "recent delinquency"],
    "reason_2_code": ["R02", None, None],
    "reason_2_zh": ["额度使用率高", None, None],
    "reason_2_en": ["high use", None, None],
})


def _study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    study.optimize(lambda trial: trial.suggest_float("eta", 0, 1) - trial.suggest_int("depth", 1, 9)
                   / 20, n_trials=6)
    return study


def _monitoring() -> dict[str, Figure]:
    reference, current = sample(400, 1), sample(300, 2, shift=1.0)
    result = monitor_batch(reference, reference["count"].fillna(0), current,
                           current["count"].fillna(0), FEATURES)
    from credit_models.evaluation.monitoring import MonitoringThresholds
    return monitoring_figures(result, MonitoringThresholds(), top=3)


FIGURES: dict[str, Callable[[], Figure | dict[str, Figure]]] = {
    "roc_by_split": lambda: plots.roc_by_split({"oot": (IS_BAD, SCORE)}),
    "bad_rate_by_snapshot": lambda: plots.bad_rate_by_snapshot(["2024-01", "2024-02"],
                                                               [0.1, 0.2], [100, 120]),
    "top_features_bar": lambda: plots.top_features_bar(pd.Series([3.0, 2.0], ["a", "b"]), "Top"),
    "ks_curve": lambda: plots.ks_curve(IS_BAD, SCORE),
    "calibration_by_split": lambda: plots.calibration_by_split({"oot": (IS_BAD, SCORE)}),
    "score_distributions": lambda: plots.score_distributions(IS_BAD, SCORE, log_scale=True),
    "bad_rate_by_band": lambda: plots.bad_rate_by_band(BANDS),
    "psi_by_month": lambda: plots.psi_by_month(["2024-01", "2024-02"], [0.02, 0.3]),
    "segment_bars": lambda: plots.segment_bars(SEGMENTS),
    "calibration_before_after": lambda: plots.calibration_before_after(
        {"oot": (IS_BAD, SCORE, SCORE)}),
    "roc_by_model": lambda: plots.roc_by_model(IS_BAD, {"xgb": SCORE, "logit": SCORE ** 2}),
    "scorecard_points_range": lambda: plots.scorecard_points_range(
        pd.DataFrame({"feature": ["a", "a", "b"], "points": [-10, 20, 5]})),
    "iv_psi_plot": lambda: iv_psi_plot(pd.DataFrame({
        "feature": NAMES, "iv": [0.3, 0.31, 0.01], "psi": [0.001, 0.0012, 0.5],
        "reason": ["", "", "psi 0.5 > 0.25"]}), min_iv=0.02, max_psi=0.25),
    "study_plots": lambda: study_plots(_study(), "valid/auc", 0),
    "dependence_plots": lambda: dependence_plots(SHAP, VALUES, top_k=1, max_points=200),
    "importance_drift_plot": lambda: importance_drift_plot(importance_drift(SHAP, SHAP * 1.1)),
    "monitoring_figures": _monitoring,
    "limits_by_band_figure": lambda: limits_by_band_figure(
        BY_BAND, ["current_limit", "new_limit"], ["granted", "after review"]),
    "reason_frequency_figure": lambda: reason_frequency_figure(reason_frequencies(REASONS)),
    "monthly_volume_plot": lambda: monthly_volume_plot(pd.DataFrame({
        "month": [f"2024-{month:02d}" for month in range(1, 13)],
        "amount": RNG.gamma(2.0, 100.0, 12)})),
    "vintage_curves_plot": lambda: vintage_curves_plot(pd.DataFrame({
        "cohort": ["2024-01"] * 6 + ["2024-02"] * 6, "months_on_book": [*range(1, 7)] * 2,
        "bad_share": np.linspace(0, 0.1, 12)})),
    "roll_rate_heatmap": lambda: roll_rate_heatmap(RollRates(pd.DataFrame(
        [[90, 10], [40, 60]], index=["current", "1+"], columns=["current", "1+"]), 3)),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_function_draws_in_the_one_style(name):
    built = FIGURES[name]()
    figures = list(built.values()) if isinstance(built, dict) else [built]
    assert figures
    for figure in figures:
        assert isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine)
        texts = [text for text in figure.findobj(Text) if text.get_text()]
        assert texts
        for text in texts:
            assert text.get_fontfamily() == font_family(), (name, text.get_text())
        first = figure.axes[0]
        assert not first.spines["top"].get_visible()
        suptitle = getattr(figure, "_suptitle", None)
        if not first.get_title() and suptitle is not None:
            assert suptitle.get_fontsize() == TITLE_SIZE + 1
        # Laid out as when saved, no title runs past the figure's edge (wrapped to fit).
        figure.draw_without_rendering()
        width = figure.bbox.width
        for title in [axes.title for axes in figure.axes if axes.get_title()]:
            extent = title.get_window_extent()
            assert extent.x0 >= -1 and extent.x1 <= width + 1, (name, title.get_text())


def test_a_title_too_wide_for_its_figure_is_wrapped():
    @styled
    def wide() -> Figure:
        figure = Figure(figsize=(3, 2))
        figure.subplots().set_title("a title far too long to fit on one line of a small figure")
        return figure

    title = wide().axes[0].title
    assert "\n" in title.get_text()
    assert title.get_window_extent().x1 <= 3 * 100 + 1


def test_the_style_leaves_the_global_settings_alone():
    import matplotlib

    before = dict(matplotlib.rcParams)
    plots.ks_curve(IS_BAD, SCORE)
    assert dict(matplotlib.rcParams) == before


def test_use_figure_style_makes_the_style_every_figures_default():
    import matplotlib

    with matplotlib.rc_context():
        figure_style.use_figure_style()
        assert matplotlib.rcParams["axes.spines.top"] is False
        assert list(matplotlib.rcParams["font.family"]) == font_family()


def test_a_chinese_font_is_found_and_has_the_reason_texts_glyphs():
    name = cjk_font()
    if name is None:
        pytest.skip("no Chinese font installed (mplfonts absent): figures fall back to English")
    path = font_manager.findfont(font_manager.FontProperties(family=name),
                                 fallback_to_default=False)
    font = FT2Font(path)
    for character in "近期有逾期额度使用率高":
        assert font.get_char_index(ord(character)) != 0, character
    figure = reason_frequency_figure(reason_frequencies(REASONS))
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert "近期有逾期\nrecent delinquency (R01)" in labels


def test_without_a_chinese_font_the_figure_falls_back_to_english(monkeypatch):
    monkeypatch.setattr(figure_style, "cjk_font", lambda: None)
    monkeypatch.setattr("credit_models.explain.reason_frequency.cjk_font", lambda: None)
    figure = reason_frequency_figure(reason_frequencies(REASONS))
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert "recent delinquency (R01)" in labels and not any("近" in label for label in labels)
