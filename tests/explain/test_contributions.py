import numpy as np
import pandas as pd
import xgboost as xgb

from credit_models.explain.contributions import BIAS_COLUMN, mean_absolute_shap, shap_contributions


def test_contributions_add_up_to_the_margin_with_categoricals_and_missing_values():
    generator = np.random.default_rng(3)
    rows = 600
    inputs = pd.DataFrame({
        "days_late": generator.integers(0, 60, rows).astype(float),
        "spend": np.where(generator.random(rows) < 0.2, np.nan, generator.gamma(2.0, 300.0, rows)),
        "tier": pd.Categorical(generator.choice(["a", "b", "c"], rows)),
    })
    logit = 0.05 * inputs["days_late"] - 2 + (inputs["tier"] == "c") * 0.8
    target = generator.random(rows) < 1 / (1 + np.exp(-logit))
    model = xgb.XGBClassifier(n_estimators=40, max_depth=3, enable_categorical=True)
    model.fit(inputs, target)
    contributions = shap_contributions(model.get_booster(), inputs)
    margin = model.get_booster().predict(
        xgb.DMatrix(inputs, enable_categorical=True), output_margin=True
    )
    np.testing.assert_allclose(contributions.sum(axis=1), margin, atol=1e-4)
    importance = mean_absolute_shap(contributions)
    assert BIAS_COLUMN not in importance.index
    assert importance.index[0] == "days_late"
