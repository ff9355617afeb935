"""The UCI Taiwan events go through the same default feature spec as the simulator's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from omegaconf import OmegaConf
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from credit_models.features.engine import build_features
from credit_models.features.spec import parse_feature_spec
from credit_models.models.xgb_pd import model_inputs

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.real_data
def test_uci_events_produce_predictive_features_through_the_default_spec(uci_taiwan):
    adapted, _ = uci_taiwan            # converted once per session (tests/conftest.py)
    labels = adapted.tables["labels"]
    spec = parse_feature_spec(
        OmegaConf.to_container(OmegaConf.load(ROOT / "conf" / "features" / "default.yaml"))
    )
    matrix = build_features(spec, adapted.tables, labels[["customer_id", "as_of"]])
    frame = matrix.frame
    assert len(frame) == 30_000
    assert frame["declines_insufficient_limit__decline__count__90d"].isna().all()     # no declines table: unknown
    repaid = frame["repayments__amount__sum__365d"]
    assert repaid.sum() > 0 and (repaid >= 0).all()
    delinquent = frame["delinquency__days_past_due__current"] >= 30
    bad_rate = labels["is_bad"].to_numpy()
    assert bad_rate[delinquent.to_numpy()].mean() > 2 * bad_rate[~delinquent.to_numpy()].mean()

    inputs = model_inputs(frame, matrix.feature_names)
    train_x, test_x, train_y, test_y = train_test_split(
        inputs, labels["is_bad"].to_numpy(), test_size=0.3, stratify=bad_rate, random_state=7
    )
    model = xgb.XGBClassifier(n_estimators=300, learning_rate=0.04, max_depth=4,
                              min_child_weight=5, subsample=0.8, colsample_bytree=0.8,
                              enable_categorical=True, n_jobs=1, random_state=7)
    model.fit(train_x, train_y)
    auc = roc_auc_score(test_y, model.predict_proba(test_x)[:, 1])
    assert auc >= 0.78, f"held-out AUC {auc:.4f} from event-built features"
    assert np.isfinite(auc)
