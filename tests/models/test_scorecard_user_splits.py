"""Bins adjusted by hand: forced cut points (``user_splits``) and a trend per feature
(``monotonic_trends``), from the estimator through its SQL, its saved form and the config."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.base import clone

from credit_models.errors import ConfigError
from credit_models.models.scorecard import WoeScorecard
from credit_models.models.settings import ModelSettings

CUTS = [0.3, 0.6, 0.9]


@pytest.fixture(scope="module")
def sample() -> tuple[pd.DataFrame, np.ndarray]:
    """Utilisation raises PD, days late raises it up to 4 days and lowers it after (a peak, so
    that its trend is a choice), income is missing for some rows."""
    rng = np.random.default_rng(3)
    n = 4000
    frame = pd.DataFrame({
        "utilisation": rng.uniform(0, 1.2, n),
        "days_late": rng.poisson(2.5, n).astype(float),
        "income": rng.lognormal(8, 0.5, n),
        "channel": rng.choice(["app", "web", "store"], n),
    })
    frame["income"] = frame["income"].where(rng.random(n) >= 0.15)
    days = frame["days_late"]
    log_odds = (-2.0 + 1.6 * frame["utilisation"] + 0.5 * np.minimum(days, 4)
                - 0.4 * np.maximum(days - 4, 0) - 0.5 * np.log(frame["income"].fillna(900) / 3000))
    return frame, rng.random(n) < expit(log_odds)


@pytest.fixture(scope="module")
def forced(sample) -> WoeScorecard:
    frame, is_bad = sample
    return WoeScorecard(selection="none", user_splits={"utilisation": CUTS},
                        monotonic_trends={"days_late": "peak"}).fit(frame, is_bad)


def test_forced_cut_points_are_the_bins_exactly(forced, sample):
    binning = forced.binner_.binnings_["utilisation"]
    assert binning.splits.tolist() == CUTS
    rows = forced.points_table_[forced.points_table_["feature"] == "utilisation"]
    assert rows["bin"].tolist()[:4] == ["(-inf, 0.30)", "[0.30, 0.60)", "[0.60, 0.90)",
                                        "[0.90, inf)"]
    assert rows["count"].iloc[:4].sum() == len(sample[0])


@pytest.fixture(scope="module")
def default(sample) -> WoeScorecard:
    frame, is_bad = sample
    return WoeScorecard(selection="none").fit(frame, is_bad)


def test_other_features_keep_the_optimal_binning(forced, default):
    assert (forced.binner_.binnings_["income"].splits.tolist()
            == default.binner_.binnings_["income"].splits.tolist())
    assert (forced.binner_.binnings_["utilisation"].splits.tolist()
            != default.binner_.binnings_["utilisation"].splits.tolist())


def test_a_feature_trend_overrides_the_default_for_that_feature_only(forced, default):
    rates = forced.binner_.binning_table("days_late")["Event rate"].iloc[
        : forced.binner_.n_bins_["days_late"]].to_numpy()
    peak = int(np.argmax(rates))
    assert 0 < peak < len(rates) - 1       # rises, then falls
    assert np.all(np.diff(rates[: peak + 1]) >= 0) and np.all(np.diff(rates[peak:]) <= 0)
    assert forced.binner_.iv_["days_late"] > default.binner_.iv_["days_late"]
    assert forced.binner_.binnings_["days_late"].monotonic_trend == "peak"
    assert forced.binner_.binnings_["income"].monotonic_trend in ("ascending", "descending")


def test_sql_and_saved_form_score_as_the_fitted_card(forced, sample):
    frame = sample[0].head(300)
    connection = sqlite3.connect(":memory:")
    frame.to_sql("features", connection, index=False)
    sql_scores = pd.read_sql_query(forced.to_sql("features"), connection)["credit_score"]
    np.testing.assert_allclose(sql_scores.to_numpy(), forced.credit_score(frame).to_numpy(),
                               rtol=0, atol=1e-9)
    restored = WoeScorecard.from_dict(json.loads(json.dumps(forced.to_dict())))
    assert restored.user_splits == {"utilisation": CUTS}
    assert restored.monotonic_trends == {"days_late": "peak"}
    pd.testing.assert_series_equal(restored.credit_score(frame), forced.credit_score(frame))


def test_parameters_are_stored_untouched_and_clone():
    splits = {"utilisation": [0.5]}
    card = WoeScorecard(user_splits=splits)
    assert card.get_params()["user_splits"] is splits
    assert clone(card).get_params()["user_splits"] == splits


@pytest.mark.parametrize(("params", "message"), [
    ({"user_splits": [0.3, 0.6]}, "user_splits must be a mapping"),
    ({"user_splits": {"utilisation": 0.3}}, "user_splits['utilisation'] must be a list"),
    ({"user_splits": {"utilisation": []}}, "strictly increasing order, at least one; got []"),
    ({"user_splits": {"utilisation": [0.6, 0.3]}}, "strictly increasing order"),
    ({"user_splits": {"utilisation": [0.3, 0.3]}}, "strictly increasing order"),
    ({"user_splits": {"utilisation": [0.3, float("nan")]}}, "finite numbers"),
    ({"user_splits": {"utilisation": [True]}}, "finite numbers"),
    ({"user_splits": {"utilisation": ["0.3"]}}, "finite numbers"),
    ({"monotonic_trends": {"days_late": "sideways"}}, "monotonic_trends['days_late'] must be"),
    ({"user_splits": {"utilisation": [0.5]}, "monotonic_trends": {"utilisation": "ascending"}},
     "fixed bins are not merged to follow a trend"),
])
def test_bad_settings_are_refused_before_binning(sample, params, message):
    frame, is_bad = sample
    with pytest.raises(ConfigError) as error:
        WoeScorecard(**params).fit(frame, is_bad)
    assert message in str(error.value)


@pytest.mark.parametrize(("params", "message"), [
    ({"user_splits": {"utilization": [0.5]}},
     "user_splits names feature(s) not in X: [utilization]"),
    ({"monotonic_trends": {"age": "ascending"}}, "monotonic_trends names feature(s) not in X"),
    ({"user_splits": {"channel": [1.0]}}, ("cut points of numerical features; categorical: "
                                          "[channel]")),
    ({"user_splits": {"utilisation": [0.5, 5.0]}}, ("user_splits['utilisation']: cut point(s) "
                                                   "[5.] leave a bin without goods")),
])
def test_settings_that_do_not_fit_the_data_name_the_feature(sample, params, message):
    frame, is_bad = sample
    with pytest.raises(ValueError) as error:
        WoeScorecard(**params).fit(frame, is_bad)
    assert message in str(error.value)


def test_model_settings_check_the_shape_before_any_data():
    settings = ModelSettings(family="scorecard", params={
        "user_splits": {"limit__utilisation__current": [0.3, 0.6, 0.9]},
        "monotonic_trends": {"delinquency__days_past_due__max__365d": "ascending"},
    })
    assert settings.estimator_params["user_splits"] == {
        "limit__utilisation__current": [0.3, 0.6, 0.9]}
    with pytest.raises(ConfigError, match=r"model\.params\.user_splits\['a'\] must be finite"):
        ModelSettings(family="scorecard", params={"user_splits": {"a": [2, 1]}})
    with pytest.raises(ConfigError, match=r"model\.params\.monotonic_trends must be a mapping"):
        ModelSettings(family="scorecard", params={"monotonic_trends": "ascending"})


def test_the_hydra_config_carries_them_to_the_settings():
    import credit_models as cm

    settings = cm.load_settings("train", [
        "model=scorecard", "model.params.user_splits={limit__utilisation__current: [0.3, 0.6]}",
        "model.params.monotonic_trends={cures__days_late__max__365d: descending}",
    ])
    params = settings.model.estimator_params
    assert params["user_splits"] == {"limit__utilisation__current": [0.3, 0.6]}
    assert params["monotonic_trends"] == {"cures__days_late__max__365d": "descending"}
    assert cm.load_settings("train", ["model=scorecard"]).model.params["user_splits"] is None
    with pytest.raises(ConfigError, match=r"model\.params\.user_splits"):
        cm.load_settings("train", ["model=scorecard", "model.params.user_splits={a: [3, 1]}"])
