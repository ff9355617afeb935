"""The PD model layer: families, monotone constraints, class weights, calibration, fold refits and
settings checks, through the scikit-learn estimator a notebook and the CLI share."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from credit_models.errors import ConfigError
from credit_models.models.calibration import PD_FLOOR, ProbabilityCalibrator
from credit_models.models.monotone import monotone_directions
from credit_models.models.pd_model import PdModel
from credit_models.models.scorecard import ScorePoints, WoeScorecard
from credit_models.models.settings import ModelSettings
from credit_models.models.xgb_pd import DEFAULT_PARAMS


def portfolio(rows: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    days_late = rng.exponential(5, rows).round()
    utilisation = rng.uniform(0, 1, rows)
    noise = rng.normal(size=rows)
    logit = -3 + 0.15 * days_late + 1.5 * utilisation + 0.3 * np.sin(3 * noise)
    is_bad = pd.Series(rng.random(rows) < 1 / (1 + np.exp(-logit)))
    frame = pd.DataFrame({
        "cures__days_late__max__90d": days_late,
        "statements__utilisation__last": utilisation,
        "noise": noise,
        "city": pd.Categorical(rng.choice(["a", "b", "c"], rows)),
    })
    return frame, is_bad


def settings(**overrides) -> ModelSettings:
    base = {"params": {"n_estimators": 80, "max_depth": 3, "n_jobs": 1},
            "early_stopping_rounds": 20}
    return ModelSettings(**{**base, **overrides})


def fitted(frame: pd.DataFrame, is_bad: pd.Series, seed: int = 1, **overrides) -> PdModel:
    """Development rows 0–2999, early stopping on 3000–3499, calibration on 3500–3999."""
    return PdModel.from_settings(settings(**overrides), random_state=seed).fit(
        frame[:3000], is_bad[:3000], eval_set=(frame[3000:3500], is_bad[3000:3500]),
        calibration_set=(frame[3500:], is_bad[3500:]),
    )


def test_from_settings_carries_every_setting_into_the_parameters():
    model = PdModel.from_settings(
        settings(family="scorecard", params={"selection": "none"}, calibration="platt",
                 pd_floor=1e-3, score={"pdo": 40, "base_odds": 20},
                 early_stopping_rounds=7),
        random_state=5,
    )
    assert model.get_params() == {
        "family": "scorecard", "params": {"selection": "none"}, "early_stopping_rounds": 7,
        "class_weight": "none", "monotone_constraints": {}, "calibration": "platt",
        "pd_floor": 1e-3, "pdo": 40, "base_score": 600.0, "base_odds": 20, "random_state": 5,
    }
    assert not [name for name in vars(model) if name.endswith("_")]      # no work in __init__


def test_the_model_is_the_boosted_trees_and_the_calibrator_fitted_by_hand():
    """The estimator adds nothing of its own: XGBoost with the configured parameters, early
    stopping on the evaluation set, and isotonic calibration of its raw PD on the calibration
    set give exactly its trees and probabilities."""
    frame, is_bad = portfolio()
    model = fitted(frame, is_bad)
    trees = xgb.XGBClassifier(**{**DEFAULT_PARAMS, "n_estimators": 80, "max_depth": 3,
                                 "n_jobs": 1}, enable_categorical=True,
                              early_stopping_rounds=20, random_state=1)
    trees.fit(frame[:3000], is_bad[:3000].astype(np.int8),
              eval_set=[(frame[3000:3500], is_bad[3000:3500].astype(np.int8))], verbose=False)
    raw = trees.predict_proba(frame)[:, 1]
    calibrator = ProbabilityCalibrator(min_probability=PD_FLOOR).fit(
        trees.predict_proba(frame[3500:])[:, 1], is_bad[3500:].to_numpy())
    assert np.array_equal(model.predict_raw_proba(frame)[:, 1], raw)
    assert np.array_equal(model.predict_proba(frame)[:, 1], calibrator.transform(raw))
    assert model.best_iteration_ == trees.best_iteration
    assert model.summary() == {"trees": trees.get_booster().num_boosted_rounds(),
                               "best_iteration": trees.best_iteration, "monotone_features": 0}
    assert list(model.classes_) == [False, True]
    assert list(model.feature_names_in_) == list(frame.columns) and model.n_features_in_ == 4
    probability = model.predict_proba(frame)[:, 1]
    assert np.array_equal(model.predict(frame), probability > 0.5)
    assert np.allclose(model.points(probability), ScorePoints().probability_to_points(probability))


def test_monotone_constraint_makes_pd_never_fall_as_days_late_rise():
    frame, is_bad = portfolio()
    model = fitted(frame, is_bad, monotone_constraints={"cures__days_late__*": 1, "city": 1})
    assert model.monotone_ == {"cures__days_late__max__90d": 1}      # the category is skipped
    grid = pd.concat([frame.iloc[[5]]] * 60, ignore_index=True)
    grid["cures__days_late__max__90d"] = np.arange(60, dtype=float)
    probability = model.predict_raw_proba(grid)[:, 1]
    assert np.all(np.diff(probability) >= -1e-12)


def test_balanced_class_weight_reweights_bads_and_calibration_maps_back():
    frame, is_bad = portfolio()
    plain = fitted(frame, is_bad, calibration="none")
    weighted = fitted(frame, is_bad, class_weight="balanced")
    ratio = (~is_bad[:3000]).sum() / is_bad[:3000].sum()
    assert weighted.estimator_.get_params()["scale_pos_weight"] == pytest.approx(ratio)
    assert plain.calibrator_ is None
    assert np.array_equal(plain.predict_proba(frame)[:, 1],
                          plain.predict_raw_proba(frame)[:, 1])
    assert weighted.predict_raw_proba(frame[3500:])[:, 1].mean() > 2 * plain.predict_proba(
        frame[3500:])[:, 1].mean()
    assert abs(weighted.predict_proba(frame[3500:])[:, 1].mean() - is_bad[3500:].mean()) < 0.05


def test_fold_refit_uses_the_main_fit_tree_count_and_class_weight():
    frame, is_bad = portfolio()
    model = fitted(frame, is_bad, class_weight="balanced")
    fixed = model.fixed_trees()
    assert not hasattr(fixed, "estimator_")                         # unfitted, params only
    assert model.get_params()["params"] == settings().params         # the model is not changed
    fold = fixed.fit(frame[:2000], is_bad[:2000])
    assert fold.estimator_.get_booster().num_boosted_rounds() == model.best_iteration_ + 1
    assert fold.estimator_.get_params()["scale_pos_weight"] == \
        model.estimator_.get_params()["scale_pos_weight"]            # development's, not the fold's
    assert fold.random_state == model.random_state


def test_scorecard_family_fits_a_woe_scorecard_on_the_points_scale():
    frame, is_bad = portfolio(3000, seed=3)
    model = PdModel(family="scorecard", params={"selection": "none", "max_features": 3},
                    calibration="none", pdo=40, random_state=2).fit(frame, is_bad)
    card = model.estimator_
    assert isinstance(card, WoeScorecard)
    assert (card.pdo, card.random_state, card.max_features) == (40, 2, 3)
    assert model.summary() == {"scorecard_features": len(card.features_)}
    probability = model.predict_proba(frame)[:, 1]
    assert np.array_equal(probability, card.predict_proba(frame)[:, 1])
    assert np.allclose(model.points(probability), card.credit_score(frame))
    assert model.fixed_trees().get_params() == model.get_params()     # refitted as configured
    # it reads only the features it selected: a frame of those, in any order, scores the same
    used = list(reversed(card.features_))
    np.testing.assert_array_equal(model.predict_proba(frame[used].assign(extra=1.0))[:, 1],
                                  probability)
    with pytest.raises(ValueError, match=used[0]):
        model.predict_proba(frame[used[1:]])


def test_clone_pickle_and_the_coding_of_bad():
    frame, is_bad = portfolio(2000)
    model = PdModel(params={"n_estimators": 30}, random_state=0).fit(frame, is_bad.astype(int))
    assert list(model.classes_) == [0, 1]
    assert set(model.predict(frame)) <= {0, 1}
    for labels, rule in ((np.where(is_bad, 2, 1), "coded bad = 1 or True"),   # German credit
                         (np.where(is_bad, "bad", "good"), "coded bad = 1 or True"),
                         (np.arange(2000) % 3, "Only binary classification"),
                         (np.zeros(2000), "one class")):
        with pytest.raises(ValueError, match=rule):
            clone(model).fit(frame, labels)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "classes_")
    restored = pickle.loads(pickle.dumps(model))
    assert np.array_equal(restored.predict_proba(frame), model.predict_proba(frame))
    with pytest.raises(NotFittedError):
        PdModel().predict_proba(frame)
    with pytest.raises(ValueError, match="fitted feature\\(s\\) missing from X: \\[noise\\]"):
        model.predict_proba(frame.drop(columns="noise"))


def test_from_fitted_wraps_an_estimator_fitted_elsewhere():
    frame, is_bad = portfolio()
    model = fitted(frame, is_bad)
    rebuilt = PdModel.from_fitted(model.estimator_, list(frame.columns),
                                  calibrator=model.calibrator_, score={"pdo": 20})
    assert np.array_equal(rebuilt.predict_proba(frame.iloc[:, ::-1]), model.predict_proba(frame))
    assert (rebuilt.family, rebuilt.calibration) == ("xgboost", model.calibrator_.method_)
    assert rebuilt.summary()["best_iteration"] == model.best_iteration_


def test_bad_settings_are_rejected_before_training():
    with pytest.raises(ConfigError, match="calibration"):
        settings(calibration="beta")
    with pytest.raises(ConfigError, match="class_weight applies to the xgboost family only"):
        settings(family="scorecard", params={}, class_weight="balanced")
    with pytest.raises(ConfigError, match="pdo"):
        settings(score={"pdo": -20})
    frame, is_bad = portfolio(10)
    with pytest.raises(ConfigError, match=r"monotone_constraints\['noise'\] must be one of"):
        monotone_directions(frame, {"noise": 2})
    # The estimator obeys the same rules, checked when it is fitted.
    for model, rule in ((PdModel(calibration="beta"), "model.calibration must be one of"),
                        (PdModel(family="scorecard", class_weight="balanced"), "class_weight"),
                        (PdModel(pdo=-20), "pdo"),
                        (PdModel(params={"max_depht": 3}), "max_depht")):
        with pytest.raises(ConfigError, match=rule):
            model.fit(frame, is_bad)
