"""The simulator: contract-exact, deterministic, chunk-independent, and a faithful ground truth
(its oracle, its latent labels and the labels computed from its event tables agree)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from credit_models.data.contract import TABLES
from credit_models.data.io import read_manifest, read_tables
from credit_models.data.simulator import (
    SimulatorConfig,
    generate_to_folder,
    latent_default_label,
    read_truth,
    simulate_portfolio,
    true_default_probability,
)
from credit_models.data.validation import validate_tables
from credit_models.errors import ConfigError

N_CUSTOMERS = 3000
START = pd.Timestamp("2023-01-01", tz="UTC")
PRE_DOWNTURN_AS_OF = pd.date_range("2023-07-01", "2024-03-01", freq="MS", tz="UTC")
DOWNTURN_AS_OF = pd.date_range("2024-07-01", "2024-11-01", freq="MS", tz="UTC")
"""Windows of these snapshots overlap the default downturn (September 2024 - February 2025)."""
LABELLED_AS_OF = pd.date_range("2023-07-01", "2025-01-01", freq="MS", tz="UTC")
EXPECTED_DTYPES = {"int": "int64", "float": "float64", "string": "str", "bool": "bool"}


def small(**changes) -> SimulatorConfig:
    return SimulatorConfig(**{"n_customers": 1000, "chunk_size": 1000, **changes})


@pytest.fixture(scope="module")
def portfolio():
    return simulate_portfolio(SimulatorConfig(n_customers=N_CUSTOMERS, chunk_size=N_CUSTOMERS))


@pytest.fixture(scope="module")
def latent_labels(portfolio) -> pd.DataFrame:
    """Realised 30+ DPD in 6 months labels of every complete monthly snapshot, with the oracle's
    probability and the customer's risk."""
    frames = []
    for as_of in LABELLED_AS_OF:
        labels = latent_default_label(portfolio.truth, as_of)
        labels = labels[labels["status"] == "labelled"]
        oracle = true_default_probability(portfolio.truth, as_of)
        frames.append(labels.merge(oracle, on=["customer_id", "as_of"], how="left"))
    stacked = pd.concat(frames, ignore_index=True)
    traits = portfolio.truth.traits[["customer_id", "risk", "is_thin_file"]]
    stacked = stacked.merge(traits, on="customer_id")
    return stacked.assign(is_bad=stacked["is_bad"].astype(bool))


# ---------------------------------------------------------------- contract and determinism
def test_every_table_has_exactly_the_contract_columns_and_dtypes(portfolio):
    for name, frame in portfolio.tables.items():
        spec = TABLES[name]
        columns = [c for c in frame.columns if not c.startswith("attr_")]
        assert columns == spec.column_names, name
        for column in spec.columns:
            dtype = frame[column.name].dtype
            if column.kind == "timestamp":
                assert isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC"
            else:
                assert str(dtype) == EXPECTED_DTYPES[column.kind], (name, column.name, dtype)
    attributes = [c for c in portfolio.tables["customers"].columns if c.startswith("attr_")]
    assert set(attributes) == {
        "attr_age", "attr_declared_monthly_income", "attr_education", "attr_city_tier",
        "attr_occupation", "attr_acquisition_channel", "attr_bureau_score",
    }
    assert str(portfolio.tables["customers"]["attr_bureau_score"].dtype) == "float64"
    report = validate_tables(portfolio.tables, portfolio.manifest.extraction_timestamp)
    assert report.ok, report.describe()


def test_ids_are_unique_and_tables_sorted_by_customer_then_time(portfolio):
    for name, frame in portfolio.tables.items():
        spec = TABLES[name]
        assert frame[spec.key].is_unique, name
        keys = ["customer_id"] + ([spec.time_column] if name != "customers" else [])
        assert frame[keys].equals(frame.sort_values(keys, kind="stable")[keys]), name


def test_no_event_at_or_after_the_extraction_date_and_bills_follow_the_cycle(portfolio):
    extraction = portfolio.manifest.extraction_timestamp
    assert extraction == START + pd.DateOffset(months=30)
    for name, frame in portfolio.tables.items():
        assert (frame[TABLES[name].time_column] < extraction).all(), name
    bills = portfolio.tables["bills"]
    assert (bills["statement_date"].dt.day == 1).all()
    assert (bills["statement_date"] == bills["statement_date"].dt.normalize()).all()
    assert (bills["due_date"] - bills["statement_date"] == pd.Timedelta(days=19)).all()
    assert (bills["minimum_due"] <= bills["amount_due"].clip(lower=0)).all()
    assert (bills.loc[bills["amount_due"] <= 0, "minimum_due"] == 0).all()
    assert (bills.loc[bills["amount_due"] > 0, "minimum_due"] > 0).all()


def test_same_seed_same_tables_and_another_seed_other_tables():
    first, second = simulate_portfolio(small()), simulate_portfolio(small())
    for name, frame in first.tables.items():
        pd.testing.assert_frame_equal(frame, second.tables[name])
    pd.testing.assert_frame_equal(first.truth.monthly_states, second.truth.monthly_states)
    other = simulate_portfolio(small(seed=8))
    assert not first.tables["orders"]["amount"].equals(other.tables["orders"]["amount"])


def test_output_does_not_depend_on_the_chunk_size():
    whole = simulate_portfolio(small(n_customers=1500, chunk_size=1500))
    chunked = simulate_portfolio(small(n_customers=1500, chunk_size=500))
    for name, frame in whole.tables.items():
        pd.testing.assert_frame_equal(frame, chunked.tables[name])
    pd.testing.assert_frame_equal(whole.truth.traits, chunked.truth.traits)
    pd.testing.assert_frame_equal(whole.truth.default_probability,
                                  chunked.truth.default_probability)


def test_generate_to_folder_writes_the_same_data_byte_for_byte(tmp_path):
    config = small(n_customers=1000, chunk_size=500)
    first = generate_to_folder(config, tmp_path / "first", show_progress=False)
    second = generate_to_folder(config, tmp_path / "second", show_progress=False)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert any(str(f).startswith("orders/part-00001") for f in files)
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative

    in_memory = simulate_portfolio(config)
    stored = read_tables(first)
    assert set(stored) == set(in_memory.tables)
    for name, frame in in_memory.tables.items():
        pd.testing.assert_frame_equal(stored[name], frame, check_dtype=True)
    manifest = read_manifest(first)
    assert manifest.source == "simulator"
    assert manifest.details["config"] == json.loads(json.dumps(dataclasses.asdict(config)))
    assert manifest.extraction_timestamp == config.extraction_date
    truth = read_truth(first)
    assert truth.config == config
    pd.testing.assert_frame_equal(truth.traits, in_memory.truth.traits)
    pd.testing.assert_frame_equal(truth.monthly_states, in_memory.truth.monthly_states)
    pd.testing.assert_frame_equal(truth.default_probability, in_memory.truth.default_probability)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_failed_generation_leaves_the_old_data_set_in_place(tmp_path, monkeypatch):
    root = generate_to_folder(small(n_customers=500, chunk_size=500), tmp_path / "data",
                              show_progress=False)
    before = read_tables(root)["orders"]

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("credit_models.data.simulator.generate.write_manifest", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        generate_to_folder(small(n_customers=500, chunk_size=500, seed=9), root,
                           show_progress=False)
    pd.testing.assert_frame_equal(read_tables(root)["orders"], before)
    assert [p.name for p in tmp_path.iterdir()] == ["data"]


# ---------------------------------------------------------------- limits and behaviour
def test_each_bill_shows_the_limit_in_force_and_limit_events_chain(portfolio):
    events = portfolio.tables["limit_events"]
    previous = events.groupby("customer_id")["new_limit"].shift()
    initial = events["reason"] == "initial"
    assert events.loc[initial, "old_limit"].isna().all()
    assert np.allclose(events.loc[~initial, "old_limit"], previous[~initial])
    assert (events.groupby("customer_id")["reason"].first() == "initial").all()
    assert (events["new_limit"] >= 500).all()
    raises = events[events["reason"] == "promotion_raise"]
    assert raises["expires_at"].notna().all()
    assert set(raises["changed_at"].dt.month) == {6, 11}
    assert (events.loc[events["reason"] != "promotion_raise", "expires_at"].isna()).all()
    expiries = events[events["reason"] == "promotion_expiry"]
    matched = raises.merge(expiries, left_on=["customer_id", "expires_at"],
                           right_on=["customer_id", "changed_at"])
    assert len(matched) == len(raises) == len(expiries)

    bills = portfolio.tables["bills"].sort_values("statement_date")
    in_force = pd.merge_asof(
        bills, events.sort_values("changed_at")[["customer_id", "changed_at", "new_limit"]],
        left_on="statement_date", right_on="changed_at", by="customer_id",
    )
    assert np.allclose(in_force["credit_limit"], in_force["new_limit"])


def test_orders_peak_in_the_618_and_double_11_campaigns(portfolio):
    orders = portfolio.tables["orders"]
    daily = orders["ordered_at"].dt.floor("D").value_counts().sort_index()
    days = daily.index
    signed_up = np.sort(portfolio.tables["customers"]["signed_up_at"].to_numpy("datetime64[us]"))
    members = np.searchsorted(signed_up, days.tz_localize(None).to_numpy("datetime64[us]"))
    per_member = daily.to_numpy() / np.maximum(members, 1)
    campaign = ((days.month == 6) & (days.day <= 18)) | ((days.month == 11) & (days.day <= 11))
    settled = days >= START + pd.DateOffset(months=1)
    assert per_member[campaign & settled].mean() > 1.5 * per_member[~campaign & settled].mean()
    marked = orders["is_promotion"]
    when = orders["ordered_at"]
    in_window = ((when.dt.month == 6) & (when.dt.day <= 18)) | (
        (when.dt.month == 11) & (when.dt.day <= 11)
    )
    assert marked.equals(in_window.rename("is_promotion"))
    assert orders.loc[marked, "amount"].median() > orders.loc[~marked, "amount"].median()


def test_thin_file_customers_order_far_less(portfolio):
    orders = portfolio.tables["orders"].merge(
        portfolio.truth.traits[["customer_id", "is_thin_file"]], on="customer_id"
    )
    months = portfolio.truth.monthly_states.merge(
        portfolio.truth.traits[["customer_id", "is_thin_file"]], on="customer_id"
    )
    per_month = orders.groupby("is_thin_file").size() / months.groupby("is_thin_file").size()
    assert per_month[True] < 0.35 * per_month[False]


def test_bust_outs_max_out_the_limit_then_never_pay(portfolio):
    traits = portfolio.truth.traits
    bust_outs = traits[traits["is_bust_out"] & (traits["bust_out_month"] < 29)]
    assert len(bust_outs) >= 10
    orders, repayments = portfolio.tables["orders"], portfolio.tables["repayments"]
    limits = portfolio.tables["limit_events"]
    for customer, month in zip(bust_outs["customer_id"], bust_outs["bust_out_month"]):
        after = START + pd.DateOffset(months=int(month) + 1)
        spent = orders.loc[(orders["customer_id"] == customer) & (orders["ordered_at"] < after),
                           "amount"].sum()
        repaid = repayments.loc[(repayments["customer_id"] == customer)
                                & (repayments["repaid_at"] < after), "amount"].sum()
        limit = limits.loc[(limits["customer_id"] == customer) & (limits["changed_at"] < after),
                           "new_limit"].iloc[-1]
        assert spent - repaid >= 0.9 * limit, customer
        paid_later = (repayments["customer_id"] == customer) & (repayments["repaid_at"] >= after)
        assert not paid_later.any()


def test_late_payments_without_distress_stay_under_30_days(portfolio):
    """Careless payers are 1-25 days late; only distress (a missed cycle, then a cure) is later."""
    repayments = portfolio.tables["repayments"].merge(
        portfolio.tables["bills"][["bill_id", "due_date"]], on="bill_id"
    )
    paid_in = (
        (repayments["repaid_at"].dt.year - START.year) * 12 + repayments["repaid_at"].dt.month - 1
    )
    states = portfolio.truth.monthly_states
    two_months_before = states.assign(month=states["month"] + 2)[["customer_id", "month",
                                                                   "distressed"]]
    joined = repayments.assign(month=paid_in).merge(two_months_before, on=["customer_id", "month"],
                                                    how="left")
    not_a_cure = ~joined["distressed"].fillna(False).astype(bool)
    days_late = (joined["repaid_at"] - joined["due_date"]).dt.total_seconds() / 86_400
    careless = not_a_cure & (days_late > 0)
    assert careless.mean() > 0.01
    assert (days_late[careless] < 26).all()
    next_month = joined["repaid_at"].dt.month != joined["due_date"].dt.month
    assert (careless & next_month).any()
    assert (days_late[~not_a_cure] > 30).any()


# ---------------------------------------------------------------- defaults and the oracle
def test_bad_rate_is_plausible_and_rises_with_risk(latent_labels):
    bad_rate = latent_labels["is_bad"].mean()
    assert 0.03 <= bad_rate <= 0.10
    deciles = pd.qcut(latent_labels["risk"], 10, labels=False)
    by_decile = latent_labels.groupby(deciles)["is_bad"].mean()
    spearman = by_decile.reset_index(drop=True).corr(pd.Series(range(10)), method="spearman")
    assert spearman > 0.9
    assert by_decile.iloc[-1] > 5 * by_decile.iloc[0]


def test_downturn_raises_the_bad_rate(latent_labels):
    rate = latent_labels.groupby("as_of")["is_bad"].mean()
    assert rate[DOWNTURN_AS_OF].mean() > 1.3 * rate[PRE_DOWNTURN_AS_OF].mean()


def test_thin_file_customers_default_more(latent_labels):
    """Their latent risk is shifted up (thin_file_risk_shift); the oracle, reading that risk,
    agrees with the realised rates."""
    by_file = latent_labels.groupby("is_thin_file")[["is_bad", "probability"]].mean()
    assert by_file.loc[True, "is_bad"] > 1.3 * by_file.loc[False, "is_bad"]
    assert by_file.loc[True, "probability"] > 1.3 * by_file.loc[False, "probability"]


def test_oracle_ranks_well_and_is_calibrated(latent_labels):
    assert latent_labels["probability"].notna().all()
    assert roc_auc_score(latent_labels["is_bad"], latent_labels["probability"]) > 0.75
    assert abs(latent_labels["probability"].mean() - latent_labels["is_bad"].mean()) < 0.01
    bands = pd.qcut(latent_labels["probability"], 5, labels=False, duplicates="drop")
    observed = latent_labels.groupby(bands)["is_bad"].mean()
    predicted = latent_labels.groupby(bands)["probability"].mean()
    assert (observed - predicted).abs().max() < 0.03


def test_oracle_is_one_when_the_run_already_reached_default(portfolio):
    truth = portfolio.truth
    as_of = pd.Timestamp("2024-07-01", tz="UTC")
    month = 17  # June 2024, the month before as_of
    states = truth.monthly_states
    reached = states.loc[(states["month"] == month) & (states["run_length"] == 2), "customer_id"]
    oracle = true_default_probability(truth, as_of).set_index("customer_id")["probability"]
    assert len(reached) > 0
    assert (oracle.reindex(reached) == 1.0).all()
    already_bad = states.loc[(states["month"] == month - 1) & (states["run_length"] >= 2),
                             "customer_id"]
    assert not oracle.index.isin(already_bad).any()
    longer = true_default_probability(truth, as_of, bad_days_past_due=90).set_index("customer_id")
    shared = oracle.index.intersection(longer.index)
    assert (longer.loc[shared, "probability"] <= oracle.loc[shared] + 1e-12).all()


@pytest.mark.parametrize("bad_days_past_due", [30, 90])
def test_event_labels_equal_latent_labels(portfolio, bad_days_past_due):
    """The label computed from bills and repayments finds exactly the latent path's defaults."""
    from credit_models.features.snapshots import customer_snapshots
    from credit_models.labels.default_label import DefaultDefinition, label_default

    tables = portfolio.tables
    dates = [pd.Timestamp("2024-03-01", tz="UTC"), pd.Timestamp("2024-10-01", tz="UTC")]
    snapshots = customer_snapshots(tables["customers"], dates)
    from_events = label_default(
        snapshots, tables["bills"], tables["repayments"], DefaultDefinition(bad_days_past_due, 6),
        portfolio.manifest.extraction_timestamp,
    )
    latent = pd.concat(
        [latent_default_label(portfolio.truth, as_of, bad_days_past_due, 6) for as_of in dates]
    )
    joined = from_events.merge(latent, on=["customer_id", "as_of"], suffixes=("", "_latent"),
                               validate="one_to_one")
    assert len(joined) == len(from_events) == len(latent)
    assert (joined["status"] == joined["status_latent"]).all()
    labelled = joined["status"] == "labelled"
    assert labelled.sum() > 0.8 * len(joined)
    assert joined.loc[labelled, "is_bad"].astype(bool).equals(
        joined.loc[labelled, "is_bad_latent"].astype(bool)
    )
    assert joined.loc[labelled, "is_bad"].astype(bool).sum() > 10


@settings(max_examples=6, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    start=st.sampled_from(["2019-11-01", "2020-02-01", "2023-06-01", "2024-01-01"]),
    months=st.integers(24, 32),
    severity=st.sampled_from([0.0, 1.0, 2.5]),
    bust_out_share=st.sampled_from([0.0, 0.05]),
    minimum_payment_share=st.sampled_from([0.05, 0.10, 0.30]),
)
def test_event_labels_equal_latent_labels_for_any_settings(
    seed, start, months, severity, bust_out_share, minimum_payment_share
):
    """Whatever the calendar (leap years, month lengths) and settings: valid tables, and the
    labels from bills and repayments are the latent path's, for 30, 60 and 90 days past due."""
    from credit_models.features.snapshots import customer_snapshots
    from credit_models.labels.default_label import DefaultDefinition, label_default

    start_date = pd.Timestamp(start, tz="UTC")
    config = small(
        n_customers=500, chunk_size=500, seed=seed, start_date=start, months=months,
        downturn_start=str((start_date + pd.DateOffset(months=10)).date()),
        downturn_end=str((start_date + pd.DateOffset(months=16)).date()),
        downturn_severity=severity, bust_out_share=bust_out_share,
        minimum_payment_share=minimum_payment_share, distress_intercept=-3.5,
    )
    portfolio = simulate_portfolio(config)
    tables = portfolio.tables
    assert validate_tables(tables, config.extraction_date).ok
    dates = [start_date + pd.DateOffset(months=k) for k in (7, months - 6)]
    snapshots = customer_snapshots(tables["customers"], dates)
    for bad_days_past_due in (30, 60, 90):
        from_events = label_default(
            snapshots, tables["bills"], tables["repayments"],
            DefaultDefinition(bad_days_past_due, 6), config.extraction_date,
        )
        latent = pd.concat(
            [latent_default_label(portfolio.truth, d, bad_days_past_due, 6) for d in dates]
        )
        joined = from_events.merge(latent, on=["customer_id", "as_of"], suffixes=("", "_latent"))
        assert len(joined) == len(from_events) == len(latent)
        assert (joined["status"] == joined["status_latent"]).all()
        labelled = joined["status"] == "labelled"
        assert joined.loc[labelled, "is_bad"].astype(bool).equals(
            joined.loc[labelled, "is_bad_latent"].astype(bool)
        )


def test_oracle_rejects_unsupported_windows(portfolio):
    unsupported = r"bad_days_past_due must be one of \[30, 60, 90\]; got 45"
    with pytest.raises(ConfigError, match=unsupported):
        true_default_probability(portfolio.truth, "2024-01-01", bad_days_past_due=45)
    with pytest.raises(ConfigError, match="as_of must be a month start"):
        true_default_probability(portfolio.truth, "2024-01-15")
    with pytest.raises(ConfigError, match="as_of must be a month start"):
        true_default_probability(portfolio.truth, "2030-01-01")


# ---------------------------------------------------------------- configuration
@pytest.mark.parametrize(
    "changes, message",
    [
        ({"months": 12}, "months must be >= 24; got 12"),
        ({"n_customers": 0}, "n_customers must be >= 1; got 0"),
        ({"chunk_size": 1234}, "chunk_size must be a multiple of 500 (the seeding block); got 12"),
        ({"start_date": "2023-01-15"}, "start_date must be the first day of a month"),
        ({"start_date": "soon"}, "start_date must be an ISO date"),
        ({"thin_file_share": 1.5}, "thin_file_share must be in [0, 1]; got 1.5"),
        ({"downturn_end": "2024-01-01"}, "downturn_end must not be before downturn_start"),
        ({"downturn_severity": -1.0}, "downturn_severity must be >= 0; got -1.0"),
        ({"oracle_as_of": ["2030-01-01"]}, "oracle_as_of must hold month starts"),
        ({"limit_ceiling": 100.0}, "limit_ceiling must be >= limit_floor"),
        ({"thin_file_risk_shift": 4.0}, "thin_file_risk_shift must be in [-3, 3]; got 4.0"),
        ({"thin_file_risk_spread": 0.0}, "thin_file_risk_spread must be in [0.1, 5]; got 0.0"),
        ({"bureau_coverage": 1.2}, "bureau_coverage must be in [0, 1]; got 1.2"),
        ({"limit_spending_elasticity": -0.1},
         "limit_spending_elasticity must be in [0, 2]; got -0.1"),
    ],
)
def test_invalid_config_names_key_rule_and_value(changes, message):
    with pytest.raises(ConfigError) as raised:
        simulate_portfolio(small(**changes))
    assert message in str(raised.value)


def test_default_config_is_valid_and_its_oracle_dates_have_complete_windows():
    config = SimulatorConfig().validate()
    dates = config.resolved_oracle_as_of()
    assert dates == [pd.Timestamp(d, tz="UTC") for d in ("2024-07-01", "2024-10-01", "2025-01-01")]
    assert all(d + pd.DateOffset(months=6) <= config.extraction_date for d in dates)


def test_downturn_severity_zero_removes_the_downturn(portfolio):
    calm = dataclasses.replace(portfolio.truth.config, downturn_severity=0.0)
    as_of = DOWNTURN_AS_OF[2]
    stressed = true_default_probability(portfolio.truth, as_of)["probability"].mean()
    relaxed = true_default_probability(portfolio.truth, as_of, config=calm)["probability"].mean()
    assert relaxed < stressed
