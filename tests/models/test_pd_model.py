"""The PD model layer: families, monotone constraints, class weights and settings checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_models.errors import ConfigError
from credit_models.models.monotone import monotone_directions
from credit_models.models.pd_model import fit_pd_model, refit_for_fold
from credit_models.models.settings import ModelSettings


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


def test_monotone_constraint_makes_pd_never_fall_as_days_late_rise():
    frame, is_bad = portfolio()
    model = fit_pd_model(
        settings(monotone_constraints={"cures__days_late__*": 1, "city": 1}),
        frame[:3000], is_bad[:3000], frame[3000:], is_bad[3000:], seed=1,
    )
    assert model.monotone == {"cures__days_late__max__90d": 1}      # the category is skipped
    grid = pd.concat([frame.iloc[[5]]] * 60, ignore_index=True)
    grid["cures__days_late__max__90d"] = np.arange(60, dtype=float)
    probability = model.raw_probability(grid)
    assert np.all(np.diff(probability) >= -1e-12)


def test_balanced_class_weight_reweights_bads_and_calibration_maps_back():
    frame, is_bad = portfolio()
    plain = fit_pd_model(settings(), frame[:3000], is_bad[:3000], frame[3000:3500],
                         is_bad[3000:3500], seed=1)
    weighted = fit_pd_model(settings(class_weight="balanced"), frame[:3000], is_bad[:3000],
                            frame[3000:3500], is_bad[3000:3500], seed=1)
    ratio = (~is_bad[:3000]).sum() / is_bad[:3000].sum()
    assert weighted.estimator.get_params()["scale_pos_weight"] == pytest.approx(ratio)
    assert weighted.raw_probability(frame[3500:]).mean() > 2 * plain.raw_probability(
        frame[3500:]).mean()
    weighted.calibrate(frame[3000:3500], is_bad[3000:3500])
    assert abs(weighted.probability(frame[3500:]).mean() - is_bad[3500:].mean()) < 0.05


def test_fold_refit_uses_the_main_fit_tree_count():
    frame, is_bad = portfolio()
    model = fit_pd_model(settings(), frame[:3000], is_bad[:3000], frame[3000:], is_bad[3000:],
                         seed=1)
    fold = refit_for_fold(model, frame[:2000], is_bad[:2000], seed=1)
    assert fold.estimator.get_booster().num_boosted_rounds() == model.estimator.best_iteration + 1


def test_bad_settings_are_rejected_before_training():
    with pytest.raises(ConfigError, match="calibration"):
        settings(calibration="beta")
    with pytest.raises(ConfigError, match="class_weight applies to the xgboost family only"):
        settings(family="scorecard", class_weight="balanced")
    with pytest.raises(ConfigError, match="pdo"):
        settings(score={"pdo": -20})
    frame, _ = portfolio(10)
    with pytest.raises(ConfigError, match=r"monotone_constraints\['noise'\] must be one of"):
        monotone_directions(frame, {"noise": 2})
