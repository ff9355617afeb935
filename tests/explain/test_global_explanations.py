from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from matplotlib.figure import Figure

from credit_models.explain.contributions import model_contributions
from credit_models.explain.global_explanations import (
    beeswarm_plot,
    dependence_plots,
    importance_drift,
    importance_drift_plot,
    interaction_partner,
    numeric_view,
    shap_importance,
)
from tests.explain.conftest import CITY_TIER, FEATURES

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")   # shap's colormaps


@pytest.fixture(scope="module")
def interacting() -> tuple[pd.DataFrame, pd.DataFrame]:
    """``use`` pushes the PD up only when ``stress`` is high: stress is use's partner."""
    rng = np.random.default_rng(5)
    rows = 3000
    inputs = pd.DataFrame({
        "use": rng.random(rows), "stress": rng.random(rows), "noise": rng.random(rows),
        "tier": pd.Categorical(rng.choice(["a", "b", "c"], rows)),
    })
    log_odds = -1 + 3 * inputs["use"] * (inputs["stress"] > 0.5) + 0.5 * (inputs["tier"] == "c")
    is_bad = rng.random(rows) < 1 / (1 + np.exp(-log_odds))
    model = xgb.XGBClassifier(n_estimators=80, max_depth=3, n_jobs=1, enable_categorical=True)
    model.fit(inputs, is_bad)
    return model_contributions(model, inputs).values, inputs


def test_importance_ranks_the_features_that_move_the_log_odds(interacting):
    values, _ = interacting
    importance = shap_importance(values)
    assert set(importance.index[:2]) == {"use", "stress"}
    assert importance.index[-1] == "noise"
    assert (importance >= 0).all() and importance.is_monotonic_decreasing


def test_beeswarm_draws_on_a_figure_of_its_own(matrix, xgb_model):
    inputs = matrix[list(FEATURES)]
    contributions = model_contributions(xgb_model, inputs)
    before = plt.get_fignums()
    figure = beeswarm_plot(contributions, inputs, max_display=5, max_points=800)
    assert isinstance(figure, Figure)
    assert figure.axes and "SHAP" in figure.axes[0].get_xlabel()
    assert plt.get_fignums() == before                  # nothing left open in pyplot



def test_beeswarm_is_the_same_figure_whatever_numpy_drew_before(interacting):
    values, inputs = interacting

    def drawn(global_seed: int) -> bytes:
        np.random.seed(global_seed)
        figure = beeswarm_plot(values, inputs, max_display=4, max_points=500)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()

    assert drawn(1) == drawn(2)
    np.random.seed(3)
    expected = np.random.random()
    np.random.seed(3)
    beeswarm_plot(values, inputs, max_display=4, max_points=500)
    assert np.random.random() == expected           # numpy's global generator left as it was

def test_beeswarm_falls_back_to_a_plain_scatter_when_shap_fails(matrix, xgb_model, monkeypatch):
    import shap

    def broken(*args, **kwargs):
        raise TypeError("no categoricals here")

    monkeypatch.setattr(shap.plots, "beeswarm", broken)
    inputs = matrix[list(FEATURES)]
    figure = beeswarm_plot(model_contributions(xgb_model, inputs), inputs, max_display=4)
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert len(labels) == 4 and set(labels) <= set(FEATURES)


def test_interaction_partner_is_the_feature_that_modulates_the_shap_values(interacting):
    values, inputs = interacting
    assert interaction_partner("use", values, inputs) == "stress"


def test_dependence_plots_for_the_top_features_name_their_partner(interacting):
    values, inputs = interacting
    figures = dependence_plots(values, inputs, top_k=2)
    assert list(figures) == list(shap_importance(values).index[:2])
    assert "coloured by stress" in figures["use"].axes[0].get_title()
    one = dependence_plots(values, inputs, features=["tier"])
    assert [tick.get_text() for tick in one["tier"].axes[0].get_xticklabels()] == ["a", "b", "c"]


def test_numeric_view_codes_categories_and_keeps_missing(matrix):
    view = numeric_view(matrix[[CITY_TIER]].head(5).assign(
        text=["x", None, "y", "x", "y"]))
    assert view[CITY_TIER].dtype == "float64"
    assert np.isnan(view["text"].iloc[1])


def test_importance_drift_table_and_plot():
    features = ["a", "b", "c"]
    dev = pd.DataFrame([[1.0, 0.5, 0.1], [-1.0, -0.5, 0.1]], columns=features)
    oot = pd.DataFrame([[0.2, 0.5, 0.9], [-0.2, -0.5, -0.9]], columns=features)
    drift = importance_drift(dev, oot)
    assert list(drift.columns) == ["feature", "mean_abs_shap_dev", "mean_abs_shap_oot", "change",
                                   "relative_change", "rank_dev", "rank_oot", "rank_change"]
    row = drift.set_index("feature")
    assert row.loc["c", "change"] == pytest.approx(0.8)
    assert row.loc["c", "relative_change"] == pytest.approx(8.0)
    assert row.loc["c", ["rank_dev", "rank_oot", "rank_change"]].tolist() == [3, 1, 2]
    assert row.loc["a", "rank_change"] == -2
    assert drift["feature"].iloc[0] == "c"                                 # sorted by OOT
    figure = importance_drift_plot(drift, top=2)
    assert isinstance(figure, Figure)
    assert len(figure.axes[0].get_yticks()) == 2
    named = importance_drift(dev, oot, names=("dev", "valid"))
    assert "mean_abs_shap_valid" in named
