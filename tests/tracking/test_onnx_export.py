"""The ONNX export gives the XGBoost probabilities within 1e-5, categorical splits included."""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_models.models.pd_model import PdModel
from credit_models.models.settings import ModelSettings
from credit_models.tracking.onnx_export import booster_to_onnx, onnx_parity
from credit_models.tracking.pd_pyfunc import feature_contract, public_inputs, typed_inputs


def test_onnx_probabilities_match_the_booster_with_missing_values_and_categories():
    rng = np.random.default_rng(5)
    rows = 6000
    frame = pd.DataFrame({
        "days_late": np.where(rng.random(rows) < 0.2, np.nan, rng.exponential(5, rows)),
        "utilisation": rng.uniform(0, 1.2, rows),
        "city": pd.Categorical(rng.choice(["a", "b", "c", "d"], rows)),
    })
    logit = -3 + 0.1 * np.nan_to_num(frame["days_late"]) + 1.2 * frame["utilisation"] \
        + (frame["city"] == "d").to_numpy() * 0.8
    is_bad = pd.Series(rng.random(rows) < 1 / (1 + np.exp(-logit)))
    settings = ModelSettings(**{
        "params": {"n_estimators": 200, "max_depth": 4, "n_jobs": 1},
        "monotone_constraints": {"days_late": 1},
    })
    model = PdModel.from_settings(settings, random_state=3).fit(
        frame[:4000], is_bad[:4000], eval_set=(frame[4000:5000], is_bad[4000:5000]))
    contract = feature_contract(frame, {})
    served = public_inputs(frame[5000:])
    served.iloc[0, served.columns.get_loc("city")] = "never seen"
    booster = model.estimator_.get_booster()
    exported = booster_to_onnx(booster, len(contract))
    difference = onnx_parity(exported, booster, served, contract, typed_inputs(contract, served))
    assert difference <= 1e-5
    assert np.isfinite(difference)
