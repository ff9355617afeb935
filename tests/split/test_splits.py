from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_models.errors import ConfigError, TrainingDataError
from credit_models.split.customer_groups import customer_uniforms
from credit_models.split.factory import SplitSettings
from credit_models.split.names import UNUSED
from credit_models.split.out_of_time import OutOfTimeSplit
from credit_models.split.stratified import StratifiedCustomerSplit


def monthly_rows(customers: int, months: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=months, freq="MS", tz="UTC")
    frame = pd.DataFrame({
        "customer_id": np.repeat(np.arange(customers), months),
        "as_of": np.tile(dates, customers),
    })
    frame["is_bad"] = rng.random(len(frame)) < 0.1
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@settings(max_examples=30, deadline=None)
@given(customers=st.integers(20, 300), months=st.integers(8, 20), seed=st.integers(0, 10_000))
def test_out_of_time_periods_follow_time_and_no_customer_crosses_splits(customers, months, seed):
    rows = monthly_rows(customers, months, seed)
    split = OutOfTimeSplit(seed=seed).assign(rows)
    fitted_on = set(rows.loc[split == "dev", "customer_id"])
    judged_on = set(rows.loc[split.isin(["valid", "calibration", "oot"]), "customer_id"])
    assert not fitted_on & judged_on
    used = split != UNUSED
    latest = rows.loc[used].groupby(split[used])["as_of"].agg(["min", "max"])
    order = [name for name in ("dev", "valid", "calibration", "oot") if name in latest.index]
    for earlier, later in zip(order, order[1:]):
        assert latest.loc[earlier, "max"] < latest.loc[later, "min"]
    dates = sorted(rows["as_of"].unique())
    assert set(rows.loc[split == "oot", "as_of"]) <= set(dates[-3:])
    assert set(rows.loc[split == "calibration", "as_of"]) <= set(dates[-5:-3])


def test_out_of_time_without_grouping_keeps_every_row_and_is_reproducible():
    rows = monthly_rows(200, 12)
    split = OutOfTimeSplit(group_customers=False).assign(rows)
    assert not (split == UNUSED).any()
    assert split.value_counts().to_dict() == {"dev": 1000, "oot": 600, "valid": 400,
                                              "calibration": 400}
    grouped = OutOfTimeSplit().assign(rows)
    assert grouped.equals(OutOfTimeSplit().assign(rows))
    assert not grouped.equals(OutOfTimeSplit(seed=8).assign(rows))


def test_customer_draw_follows_the_shares_and_does_not_depend_on_row_order():
    ids = pd.Series(np.arange(20_000))
    uniforms = customer_uniforms(ids, 7)
    assert 0 <= uniforms.min() and uniforms.max() < 1
    assert abs(uniforms.mean() - 0.5) < 0.01
    shuffled = ids.sample(frac=1.0, random_state=1)
    assert np.array_equal(customer_uniforms(shuffled, 7), uniforms[shuffled.to_numpy()])


def test_held_out_customers_follow_the_share_and_a_split_can_skip_calibration():
    rows = monthly_rows(4000, 10)
    split = OutOfTimeSplit(holdout_share=0.25).assign(rows)
    held = rows.loc[split == "oot", "customer_id"].nunique() / rows["customer_id"].nunique()
    assert held == pytest.approx(0.25, abs=0.02)
    no_calibration = OutOfTimeSplit(calibration_months=0)
    assert "calibration" not in set(no_calibration.assign(rows))
    assert no_calibration.periods == ("dev", "valid", "oot")


def test_time_series_folds_never_train_on_their_own_customers_or_future():
    rows = monthly_rows(300, 14)
    splitter = OutOfTimeSplit(cv_folds=3, group_customers=False)
    split = splitter.assign(rows)
    folds = splitter.folds(rows, split)
    assert len(folds) == 3
    for train, held in folds:
        assert len(train) and len(held)
        assert rows.loc[train, "as_of"].max() < rows.loc[held, "as_of"].min()
        assert not set(rows.loc[train, "customer_id"]) & set(rows.loc[held, "customer_id"])
        assert set(split[train]) == {"dev"} and set(split[held]) == {"dev"}


def test_too_few_snapshot_dates_name_the_dates():
    rows = monthly_rows(50, 6)
    with pytest.raises(TrainingDataError, match="needs at least 8 labelled snapshot dates; got 6"):
        OutOfTimeSplit().assign(rows)


def test_stratified_split_keeps_the_bad_rate_and_groups_customers():
    rng = np.random.default_rng(3)
    rows = pd.DataFrame({"customer_id": np.arange(2000), "as_of": pd.Timestamp("2024-01-01", tz="UTC"),
                         "is_bad": rng.random(2000) < 0.3})
    splitter = StratifiedCustomerSplit()
    split = splitter.assign(rows)
    shares = split.value_counts(normalize=True)
    assert shares["test"] == pytest.approx(0.3, abs=0.002)
    assert shares["dev"] == pytest.approx(0.5, abs=0.002)
    bad_rate = rows.groupby(split)["is_bad"].mean()
    assert (bad_rate - rows["is_bad"].mean()).abs().max() < 0.01
    folds = splitter.folds(rows, split)
    assert len(folds) == 5
    held = np.concatenate([h for _, h in folds])
    assert sorted(held) == list(range(2000))      # every row held out exactly once


def test_bad_split_config_is_rejected_with_the_key():
    with pytest.raises(ConfigError, match="shares must sum to 1"):
        StratifiedCustomerSplit(customer_shares={"dev": 0.5, "valid": 0.1, "calibration": 0.1,
                                                 "test": 0.1})
    with pytest.raises(ConfigError, match="holdout_share must be in"):
        OutOfTimeSplit(holdout_share=1.0)
    with pytest.raises(ConfigError, match="must give a share for each of"):
        StratifiedCustomerSplit(customer_shares={"dev": 0.7, "test": 0.3})
    with pytest.raises(ConfigError, match="cv_folds"):
        OutOfTimeSplit(cv_folds=1)
    with pytest.raises(ConfigError, match="does not take \\['valid_months'\\]"):
        SplitSettings(kind="stratified", valid_months=2)
    with pytest.raises(ConfigError, match="split.kind must be one of"):
        SplitSettings(kind="random")
