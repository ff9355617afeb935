"""The served model is the validated model: same trees, same calibration, same score scale."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from credit_models.models.pd_model import ModelSettings, fit_pd_model
from credit_models.tracking.pd_pyfunc import (
    ProbabilityOfDefaultModel,
    feature_contract,
    public_inputs,
    write_model_files,
)


def test_exported_model_serves_exactly_the_validated_probabilities(tmp_path):
    rng = np.random.default_rng(0)
    rows = 4000
    frame = pd.DataFrame({"days_late": rng.exponential(4, rows),
                          "city": pd.Categorical(rng.choice(["x", "y", "z"], rows))})
    is_bad = pd.Series(rng.random(rows) < 1 / (1 + np.exp(-(0.3 * frame["days_late"] - 3))))
    settings = ModelSettings.from_config({
        "params": {"n_estimators": 400, "learning_rate": 0.3, "n_jobs": 1},
        "early_stopping_rounds": 10,
    })
    model = fit_pd_model(settings, frame[:2500], is_bad[:2500], frame[2500:3000],
                         is_bad[2500:3000], seed=1)
    assert model.estimator.best_iteration + 1 < model.estimator.get_booster().num_boosted_rounds()
    model.calibrate(frame[3000:3500], is_bad[3000:3500])
    files = write_model_files(model, feature_contract(frame, {}), tmp_path)

    served = ProbabilityOfDefaultModel()
    served.load_context(SimpleNamespace(artifacts=files))
    scored = served.predict(None, public_inputs(frame[3500:]))
    expected = model.probability(frame[3500:])
    assert np.abs(scored["probability_of_default"].to_numpy() - expected).max() == 0.0
    assert scored["score"].to_numpy() == pytest.approx(model.score(expected))
    with pytest.raises(ValueError, match=r"lack 1 model feature\(s\): \['city'\]"):
        served.predict(None, public_inputs(frame[3500:]).drop(columns="city"))
