from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.base import clone

from credit_models.errors import ConfigError, TrainingDataError
from credit_models.limits.capacity_metrics import capacity_metrics, capacity_metrics_by_segment
from credit_models.limits.capacity_model import (
    BOOSTER_FILE,
    METADATA_FILE,
    CapacityModel,
    CapacitySettings,
)
from credit_models.workflows.structured import settings_from

SIGMA = 0.5
FAST = {"n_estimators": 150, "learning_rate": 0.1, "max_depth": 3, "min_child_weight": 5.0,
        "subsample": 1.0, "colsample_bytree": 1.0, "tree_method": "hist"}


def _lognormal(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """log y = 6 + 0.8 x + 0.4 [segment b] + 0.5 eps: the true quantiles are known."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, n)
    segment = rng.choice(["a", "b"], n)
    noise = rng.normal(0.0, 1.0, n)
    frame = pd.DataFrame({"income_index": x, "noise": rng.normal(size=n),
                          "segment": segment.astype("str")},
                         index=pd.RangeIndex(1000, 1000 + n))
    y = np.exp(6.0 + 0.8 * x + 0.4 * (segment == "b") + SIGMA * noise)
    return frame, pd.Series(y, index=frame.index, name="capacity_target")


def _true_quantile(frame: pd.DataFrame, level: float) -> np.ndarray:
    centre = 6.0 + 0.8 * frame["income_index"] + 0.4 * (frame["segment"] == "b")
    return np.exp(centre + SIGMA * norm.ppf(level)).to_numpy()


@pytest.fixture(scope="module")
def fitted():
    X, y = _lognormal(3000, seed=1)
    dev, valid, test = slice(0, 1400), slice(1400, 1800), slice(1800, None)
    model = CapacityModel(CapacitySettings(params=FAST, early_stopping_rounds=20), n_jobs=1)
    model.fit(X.iloc[dev], y.iloc[dev], eval_set=(X.iloc[valid], y.iloc[valid]))
    return model, X.iloc[test], y.iloc[test]


def test_quantiles_cover_their_level_on_held_out_rows(fitted):
    model, X, y = fitted
    predicted = model.predict_quantiles(X)
    assert list(predicted.columns) == ["capacity_q50", "capacity_q90"]
    assert predicted.index.equals(X.index)
    metrics = capacity_metrics(y, predicted, model.quantiles_)
    assert metrics["coverage_q50"] == pytest.approx(0.5, abs=0.06)
    assert metrics["coverage_q90"] == pytest.approx(0.9, abs=0.05)
    assert metrics["rows"] == len(y)
    # close to the true conditional quantiles, not just calibrated on average
    for level, column in [(0.5, "capacity_q50"), (0.9, "capacity_q90")]:
        ratio = predicted[column].to_numpy() / _true_quantile(X, level)
        assert np.median(np.abs(np.log(ratio))) < 0.12
    assert np.array_equal(model.predict(X), predicted["capacity_q50"].to_numpy())
    assert model.feature_names_ == ["income_index", "noise", "segment"]
    assert 0 <= model.best_iteration_ < 150
    assert model.booster_.num_boosted_rounds() == model.best_iteration_ + 1


def test_quantiles_never_cross_and_are_never_negative(fitted):
    model, X, _ = fitted
    settings = CapacitySettings(quantiles=(0.1, 0.5, 0.9), params={**FAST, "n_estimators": 20},
                                log_target=False)
    wide = CapacityModel(settings).fit(X, X["income_index"] + 1.0)
    extreme = X.assign(income_index=np.linspace(-50, 50, len(X)))
    for predicted in (model.predict_quantiles(extreme), wide.predict_quantiles(extreme)):
        values = predicted.to_numpy()
        assert (values >= 0).all()
        assert (np.diff(values, axis=1) >= 0).all()


def test_save_and_load_round_trip_exactly(fitted, tmp_path):
    model, X, _ = fitted
    model.save(tmp_path / "capacity")
    assert {p.name for p in (tmp_path / "capacity").iterdir()} == {BOOSTER_FILE, METADATA_FILE}
    loaded = CapacityModel.load(tmp_path / "capacity")
    pd.testing.assert_frame_equal(loaded.predict_quantiles(X), model.predict_quantiles(X),
                                  check_exact=True)
    assert loaded.best_iteration_ == model.best_iteration_
    # categories are coded against the training categories, whatever the caller's dtype
    as_text = X.assign(segment=X["segment"].astype(object))
    reordered = X.assign(segment=pd.Categorical(X["segment"], categories=["b", "a", "c"]))
    pd.testing.assert_frame_equal(loaded.predict_quantiles(as_text[::-1]).loc[X.index],
                                  model.predict_quantiles(reordered), check_exact=True)


def test_missing_features_are_named(fitted):
    model, X, _ = fitted
    with pytest.raises(ValueError, match=r"lacks 1 feature.*'segment'"):
        model.predict_quantiles(X.drop(columns="segment"))


@pytest.mark.parametrize("bad", [np.nan, -5.0])
def test_missing_or_negative_targets_are_rejected_with_their_rows(bad):
    X, y = _lognormal(50, seed=2)
    y.loc[[1003, 1007]] = bad
    with pytest.raises(TrainingDataError, match=r"2 training row\(s\).*1003.*1007"):
        CapacityModel(CapacitySettings(params=FAST)).fit(X, y)
    with pytest.raises(TrainingDataError, match="evaluation"):
        CapacityModel(CapacitySettings(params=FAST)).fit(X.iloc[:10], y.iloc[:10].abs().fillna(1),
                                                         eval_set=(X, y))


@pytest.mark.parametrize("mapping,message", [
    ({"quantiles": []}, "at least one"),
    ({"quantiles": [0.9, 0.5]}, "strictly increasing"),
    ({"quantiles": [0.5, 0.5]}, "strictly increasing"),
    ({"quantiles": [0.5, 1.0]}, r"\(0, 1\)"),
    ({"quantiles": [0.0, 0.5]}, r"\(0, 1\)"),
    ({"quantiles": 0.5}, "list"),
    ({"quantiles": [0.5, 0.501]}, "whole percent"),
    ({"params": {"objective": "reg:squarederror"}}, "objective"),
    ({"early_stopping_rounds": 0}, "early_stopping_rounds"),
    ({"quantile": [0.5]}, "quantile is not a setting of CapacitySettings; did you mean quantiles"),
])
def test_bad_settings_are_rejected(mapping, message):
    with pytest.raises(ConfigError, match=message):
        settings_from(CapacitySettings, mapping)


def test_settings_from_config_lay_params_over_the_defaults():
    settings = settings_from(CapacitySettings, {"quantiles": [0.5, 0.75, 0.95],
                                                "params": {"max_depth": 6}, "log_target": False})
    assert settings.quantiles == (0.5, 0.75, 0.95)
    assert settings.params["max_depth"] == 6
    assert settings.params["learning_rate"] == 0.05
    assert not settings.log_target
    model = CapacityModel(settings, random_state=3)
    assert not hasattr(model, "booster_")
    assert clone(model).get_params()["random_state"] == 3


def test_metrics_by_segment_and_mape_threshold():
    y = pd.Series([50.0, 200.0, 400.0, 1000.0])
    quantiles = pd.DataFrame({"capacity_q50": [100.0, 100.0, 400.0, 500.0],
                              "capacity_q90": [200.0, 300.0, 600.0, 900.0]})
    overall = capacity_metrics(y, quantiles, (0.5, 0.9))
    # the 50 target is below 100: left out of the percentage error
    assert overall["mape_q50"] == pytest.approx((0.5 + 0.0 + 0.5) / 3)
    assert overall["mape_rows"] == 3
    assert overall["coverage_q50"] == 0.5
    assert overall["coverage_q90"] == 0.75
    assert overall["pinball_q50"] == pytest.approx(0.5 * (50 + 100 + 0 + 500) / 4)
    table = capacity_metrics_by_segment(y, quantiles, (0.5, 0.9),
                                        pd.Series(["x", "y", "x", None]))
    assert list(table.index) == ["all", "missing", "x", "y"]
    assert table["rows"].tolist() == [4, 1, 2, 1]
    assert table.loc["x", "coverage_q90"] == 1.0
    assert table.loc["all", "pinball_q90"] == pytest.approx(overall["pinball_q90"])


def test_no_training_rows_is_a_training_data_error():
    with pytest.raises(TrainingDataError, match="no training rows"):
        CapacityModel().fit(pd.DataFrame({"x": []}, dtype="float64"), pd.Series([], dtype=float))
