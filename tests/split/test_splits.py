from __future__ import annotations

import itertools

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
    split = OutOfTimeSplit(holdout="months", seed=seed).assign(rows)
    fitted_on = set(rows.loc[split == "dev", "customer_id"])
    judged_on = set(rows.loc[split.isin(["valid", "calibration", "oot"]), "customer_id"])
    assert not fitted_on & judged_on
    used = split != UNUSED
    latest = rows.loc[used].groupby(split[used])["as_of"].agg(["min", "max"])
    order = [name for name in ("dev", "valid", "calibration", "oot") if name in latest.index]
    for earlier, later in itertools.pairwise(order):
        assert latest.loc[earlier, "max"] < latest.loc[later, "min"]
    dates = sorted(rows["as_of"].unique())
    assert set(rows.loc[split == "oot", "as_of"]) <= set(dates[-3:])
    assert set(rows.loc[split == "calibration", "as_of"]) <= set(dates[-5:-3])


def test_out_of_time_without_grouping_keeps_every_row_and_is_reproducible():
    rows = monthly_rows(200, 12)
    split = OutOfTimeSplit(holdout="months", group_customers=False).assign(rows)
    assert not (split == UNUSED).any()
    assert split.value_counts().to_dict() == {"dev": 1000, "oot": 600, "valid": 400,
                                              "calibration": 400}
    grouped = OutOfTimeSplit(holdout="months").assign(rows)
    assert grouped.equals(OutOfTimeSplit(holdout="months").assign(rows))
    assert not grouped.equals(OutOfTimeSplit(holdout="months", seed=8).assign(rows))


def test_customer_draw_follows_the_shares_and_does_not_depend_on_row_order():
    ids = pd.Series(np.arange(20_000))
    uniforms = customer_uniforms(ids, 7)
    assert 0 <= uniforms.min() and uniforms.max() < 1
    assert abs(uniforms.mean() - 0.5) < 0.01
    shuffled = ids.sample(frac=1.0, random_state=1)
    assert np.array_equal(customer_uniforms(shuffled, 7), uniforms[shuffled.to_numpy()])


def test_held_out_customers_follow_the_share_and_a_split_can_skip_calibration():
    rows = monthly_rows(4000, 10)
    split = OutOfTimeSplit(holdout="months", holdout_share=0.25).assign(rows)
    held = rows.loc[split == "oot", "customer_id"].nunique() / rows["customer_id"].nunique()
    assert held == pytest.approx(0.25, abs=0.02)
    no_calibration = OutOfTimeSplit(holdout="months", calibration_months=0)
    assert "calibration" not in set(no_calibration.assign(rows))
    assert no_calibration.periods == ("dev", "valid", "oot")


@pytest.mark.parametrize("holdout", ["months", "customers"])
def test_time_series_folds_never_train_on_their_own_customers_or_future(holdout):
    rows = monthly_rows(400, 14)
    splitter = OutOfTimeSplit(holdout=holdout, cv_folds=3, group_customers=False)
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
        OutOfTimeSplit(holdout="months").assign(rows)


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
        OutOfTimeSplit(holdout="months", holdout_share=1.0)
    with pytest.raises(ConfigError, match="must give a share for each of"):
        StratifiedCustomerSplit(customer_shares={"dev": 0.7, "test": 0.3})
    with pytest.raises(ConfigError, match="cv_folds"):
        OutOfTimeSplit(cv_folds=1)
    with pytest.raises(ConfigError, match="does not take \\['valid_months'\\]"):
        SplitSettings(kind="stratified", valid_months=2)
    with pytest.raises(ConfigError, match="split.kind must be one of"):
        SplitSettings(kind="random")


# ------------------------------------------------------------- oot_start, holdout, grouping


def test_oot_start_is_an_inclusive_utc_boundary_and_replaces_oot_months():
    rows = monthly_rows(40, 12)
    split = OutOfTimeSplit(oot_start="2024-10-01").assign(rows)
    boundary = pd.Timestamp("2024-10-01", tz="UTC")
    assert (split[rows["as_of"] >= boundary] == "oot").all()
    assert not (split[rows["as_of"] < boundary] == "oot").any()
    # A zone is converted, not dropped: 02:00 in Paris on 1 October is midnight UTC.
    paris = OutOfTimeSplit(oot_start="2024-10-01T02:00:00+02:00").assign(rows)
    assert paris.equals(split)
    # One second later, the 1 October snapshot falls before the boundary.
    later = OutOfTimeSplit(oot_start="2024-10-01T00:00:01").assign(rows)
    assert set(rows.loc[later == "oot", "as_of"].dt.month) == {11, 12}
    with pytest.raises(ConfigError, match="does not use split.oot_months"):
        OutOfTimeSplit(oot_start="2024-10-01", oot_months=2)


def test_oot_start_errors_name_the_date_and_the_snapshot_range():
    rows = monthly_rows(20, 6)
    with pytest.raises(TrainingDataError, match="2030-01-01 leaves no labelled rows in the "
                                                "out-of-time period: the snapshot dates run "
                                                "from 2024-01-01 to 2024-06-01"):
        OutOfTimeSplit(oot_start="2030-01-01").assign(rows)
    with pytest.raises(TrainingDataError, match="no labelled rows in the period before it"):
        OutOfTimeSplit(oot_start="2023-01-01").assign(rows)
    with pytest.raises(ConfigError, match="split.oot_start must be an ISO date"):
        OutOfTimeSplit(oot_start="2024-13-01")
    with pytest.raises(ConfigError, match="split.oot_start must be an ISO date"):
        SplitSettings(oot_start="next year").build(seed=1)


def test_customers_holdout_uses_every_row_and_keeps_each_customer_in_one_split():
    rows = monthly_rows(3000, 12)
    splitter = OutOfTimeSplit()
    split = splitter.assign(rows)
    assert not (split == UNUSED).any()
    assert splitter.periods == ("dev", "valid", "calibration", "oot")
    dates = sorted(rows["as_of"].unique())
    assert set(rows.loc[split == "oot", "as_of"]) == set(dates[-3:])
    before = split != "oot"
    per_customer = split[before].groupby(rows.loc[before, "customer_id"]).nunique()
    assert (per_customer == 1).all()
    # Development reaches the OOT start: training sees the latest pre-OOT month.
    assert rows.loc[split == "dev", "as_of"].max() == dates[-4]
    shares = split[before].groupby(rows.loc[before, "customer_id"]).first().value_counts(
        normalize=True)
    assert shares["valid"] == pytest.approx(0.15, abs=0.02)
    assert shares["calibration"] == pytest.approx(0.15, abs=0.02)
    assert shares["dev"] == pytest.approx(0.70, abs=0.02)
    other = OutOfTimeSplit(valid_share=0.3, calibration_share=0, seed=3)
    assert other.periods == ("dev", "valid", "oot")
    assert set(other.assign(rows)) == {"dev", "valid", "oot"}


def test_customers_holdout_grouped_leaves_out_the_oot_rows_of_fitted_customers(caplog):
    rows = monthly_rows(2000, 8)
    splitter = OutOfTimeSplit(group_customers=True)
    with caplog.at_level("WARNING", logger="credit_models.split"):
        split = splitter.assign(rows)
    fitted = set(rows.loc[split == "dev", "customer_id"])
    judged = set(rows.loc[split.isin(["valid", "calibration", "oot"]), "customer_id"])
    assert fitted and not fitted & judged
    assert set(rows.loc[split == UNUSED, "as_of"]) == set(sorted(rows["as_of"].unique())[-3:])
    # ~70 % of the 3 OOT months' rows out of 8 months: 26 %, over the warning line.
    assert "split.group_customers=true leaves out the OOT rows" in caplog.text


def one_snapshot_rows(customers: int, months: int, seed: int = 0) -> pd.DataFrame:
    """Application-like data: every customer labelled at one snapshot date only."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=months, freq="MS", tz="UTC")
    return pd.DataFrame({"customer_id": np.arange(customers),
                         "as_of": dates[rng.integers(0, months, customers)],
                         "is_bad": rng.random(customers) < 0.1})


def test_auto_grouping_is_off_for_one_snapshot_data_and_on_for_panel_data_in_months_mode(caplog):
    splitter = OutOfTimeSplit(holdout="months")
    single = one_snapshot_rows(3000, 12)
    with caplog.at_level("INFO", logger="credit_models.split"):
        split = splitter.assign(single)
    assert not (split == UNUSED).any()
    assert "group_customers=auto → off (auto: one labelled snapshot per customer" in caplog.text
    panel = monthly_rows(300, 12)
    caplog.clear()
    with caplog.at_level("INFO", logger="credit_models.split"):
        panel_split = splitter.assign(panel)
    assert (panel_split == UNUSED).any()
    assert "group_customers=auto → on (auto: customers have labelled rows" in caplog.text
    assert panel_split.equals(OutOfTimeSplit(holdout="months", group_customers=True).assign(panel))
    # Customers mode: auto is off even on panel data.
    assert not (OutOfTimeSplit().assign(panel) == UNUSED).any()


def test_many_unused_rows_warn_with_the_counts_and_the_settings_to_blame(caplog):
    rows = monthly_rows(500, 12)
    with caplog.at_level("WARNING", logger="credit_models.split"):
        split = OutOfTimeSplit(holdout="months", holdout_share=0.3).assign(rows)
    unused = int((split == UNUSED).sum())
    assert unused > 0.2 * len(rows)
    [record] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert f"{unused} of {len(rows)} rows" in record.getMessage()
    assert "split.group_customers=auto" in record.getMessage()
    assert "split.holdout_share=0.3" in record.getMessage()
    caplog.clear()
    with caplog.at_level("WARNING", logger="credit_models.split"):
        OutOfTimeSplit().assign(rows)
        OutOfTimeSplit(holdout="months", group_customers=False).assign(rows)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_settings_a_mode_does_not_use_are_named():
    with pytest.raises(ConfigError, match=r"does not use split.valid_months \(used with "
                                          r"split.holdout=months\)"):
        OutOfTimeSplit(valid_months=2)
    with pytest.raises(ConfigError, match="does not use split.holdout_share"):
        SplitSettings(holdout_share=0.3).build(seed=1)
    with pytest.raises(ConfigError, match="does not use split.calibration_share"):
        OutOfTimeSplit(holdout="months", calibration_share=0.1)
    with pytest.raises(ConfigError, match="split.holdout must be one of"):
        OutOfTimeSplit(holdout="weeks")
    with pytest.raises(ConfigError, match="split.group_customers must be one of"):
        OutOfTimeSplit(group_customers="sometimes")
    with pytest.raises(ConfigError, match="valid_share \\+ split.calibration_share must be < 1"):
        OutOfTimeSplit(valid_share=0.6, calibration_share=0.4)
    assert OutOfTimeSplit(group_customers="false").group_customers is False
    months = SplitSettings(holdout="months", valid_months=3).build(seed=1)
    assert months.valid_months == 3 and months.periods == ("dev", "valid", "calibration", "oot")


@settings(max_examples=25, deadline=None)
@given(customers=st.integers(20, 80), months=st.integers(8, 14), seed=st.integers(0, 1000),
       holdout=st.sampled_from(["months", "customers"]),
       group=st.sampled_from(["auto", True, False]), shuffle=st.integers(0, 1000),
       one_snapshot=st.booleans())
def test_assign_keeps_every_row_once_whatever_the_row_order(customers, months, seed, holdout,
                                                             group, shuffle, one_snapshot):
    rows = (one_snapshot_rows(customers * 5, months, seed) if one_snapshot
            else monthly_rows(customers, months, seed))
    rows.index = pd.RangeIndex(len(rows)) * 3 + 100       # an index of its own, kept as given
    splitter = OutOfTimeSplit(holdout=holdout, group_customers=group, seed=seed,
                              valid_share=0.3 if holdout == "customers" else None)
    try:
        split = splitter.assign(rows)
    except TrainingDataError:       # too few customers or dates drawn: an error, never a loss
        return
    assert split.index.equals(rows.index)
    assert split.notna().all()
    assert set(split) <= {"dev", "valid", "calibration", "oot", UNUSED}
    shuffled = rows.sample(frac=1.0, random_state=shuffle)
    assert splitter.assign(shuffled).sort_index().equals(split.sort_index())
