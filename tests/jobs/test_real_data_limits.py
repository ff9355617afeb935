"""The credit-limit job on the UCI Taiwan card data through its preset
(conf/experiment/uci_taiwan_limits.yaml): PD and capacity models fitted on the real bills and
repayments, the policy applied to the test split's customers next to the limits they were granted.

Skipped when the data set is not beside the checkout. Smaller models than the preset's (fewer
trees, no cross-validation) keep it to well under a minute; nothing is logged to MLflow.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from credit_models.config.settings import to_settings
from credit_models.workflows.limits import check_limits, run_limits

ROOT = Path(__file__).resolve().parents[2]
UCI_FILE = ROOT.parent / "shared" / "data" / "uci_taiwan_credit_card" / "UCI_Credit_Card.csv.gz"


@pytest.mark.real_data
@pytest.mark.slow
def test_uci_taiwan_limits_preset_gives_sensible_limits_by_risk(compose_config, tmp_path):
    if not UCI_FILE.is_file():
        pytest.skip("the UCI Taiwan file is not beside the checkout")
    config = compose_config("limits", [
        "+experiment=uci_taiwan_limits",
        f"data.source_file={UCI_FILE}",
        f"data.path={tmp_path / 'data'}",
        f"engine.feature_cache_dir={tmp_path / 'feature_cache'}",
        "split.cv_folds=0",
        "model.params.n_estimators=200",
        "++model.params.n_jobs=1",
        "capacity.params.n_estimators=200",
    ])
    settings = to_settings(config)
    policy = check_limits(settings)
    run = run_limits(settings)

    # The capacity model's 90th percentile covers about 90 % of the July–September peaks of
    # customers it never saw.
    coverage = run.metrics["capacity/test/coverage_q90"]
    assert 0.8 <= coverage <= 0.97, f"capacity q90 coverage on test {coverage:.3f}"

    customers = run.decisions.customers
    assert len(customers) == 9000                     # the test split's 30 %
    # The granted limit read from the features is the source's X1 for every customer.
    with gzip.open(UCI_FILE, "rt") as handle:
        source = pd.read_csv(handle, usecols=["ID", "X1"])
    granted = source.set_index("ID")["X1"].reindex(customers.index.astype(source["ID"].dtype))
    np.testing.assert_array_equal(customers["current_limit"].to_numpy(), granted.to_numpy())

    # Every decision carries the customer-facing text of the rules behind it.
    for column in ("binding_rule_text", "review_reason_text"):
        texts = customers[column]
        assert texts.notna().all() and (texts.str.len() > 0).all(), column
    promotion_texts = run.decisions.promotions["promotion_reason_text"]
    assert promotion_texts.notna().all() and (promotion_texts.str.len() > 0).all()
    assert customers.loc[customers["new_limit"] > 0, "new_limit"].between(
        policy.floor, policy.ceiling).all()

    # By PD band, best to worst: the bands that hold customers (at least three of them, with at
    # least 30 customers each: a mean over two says nothing) show the granted limit beside the
    # recommendation, and the recommended limits fall as the risk rises. On a 22 % bad-rate
    # portfolio the safest band (PD below 1 %) may rightly stay empty: a smooth calibration
    # gives nobody a PD the data cannot support.
    order = [band.name for band in policy.tiers.pd_bands]
    by_band = run.by_band.reindex(order)
    by_band = by_band[by_band["customers"].fillna(0) >= 30]
    order = list(by_band.index)
    assert len(by_band) >= 3, run.by_band
    assert (by_band["current_limit_mean"] >= policy.floor).all(), by_band
    for column in ("target_limit_mean", "new_limit_mean"):
        steps = np.diff(by_band[column].to_numpy())
        assert (steps < 0).all(), by_band[column]
    assert by_band["bad_rate"].iloc[-1] > by_band["bad_rate"].iloc[0]
    assert by_band.loc[order[-1], "new_limit_mean"] < by_band.loc[order[-1], "current_limit_mean"]

    stress = run.stress
    assert stress.loc["severe_downturn", "expected_loss"] > stress.loc["baseline", "expected_loss"]
