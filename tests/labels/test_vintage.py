"""Vintage curves and roll rates: exact on a hand-built portfolio, point in time on a simulated one."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import credit_models as cm
from credit_models.errors import ConfigError
from credit_models.labels.vintage import bucket_labels, roll_rates, vintage_curves
from tests.portfolio_builder import tiny_tables, utc


def test_vintage_curve_counts_an_account_bad_from_the_month_it_reached_30_days():
    tables = tiny_tables()   # customer 2 is first 30 days past due on 2024-03-21 (bill 21)
    curves = vintage_curves(tables["customers"], tables["bills"], tables["repayments"],
                            utc("2024-06-01"))
    assert curves["cohort"].unique().tolist() == ["2024-01"]
    # customer 2's 5th month on book ends on 06-05: the cohort stops at 4 months
    assert curves["months_on_book"].tolist() == [1, 2, 3, 4]
    assert curves["accounts"].tolist() == [2, 2, 2, 2]
    assert curves["bad_accounts"].tolist() == [0, 0, 1, 1]
    assert curves["bad_share"].tolist() == [0.0, 0.0, 0.5, 0.5]
    quarterly = vintage_curves(tables["customers"], tables["bills"], tables["repayments"],
                               utc("2024-06-01"), cohort_by="quarter")
    assert quarterly["cohort"].unique().tolist() == ["2024-Q1"]
    sixty = vintage_curves(tables["customers"], tables["bills"], tables["repayments"],
                           utc("2024-06-01"), bad_days_past_due=60)
    assert sixty["bad_accounts"].sum() == 0


def test_roll_rates_follow_each_account_between_month_starts():
    tables = tiny_tables()
    rates = roll_rates(tables["bills"], tables["repayments"],
                       [utc("2024-03-01"), utc("2024-04-01"), utc("2024-05-01")])
    assert rates.transitions == 2
    counts = rates.counts
    assert counts.loc["current", "current"] == 2          # customer 1, both months
    assert counts.loc["1-29", "1-29"] == 1                # customer 2: bill 21, then bill 22 late
    assert counts.loc["1-29", "current"] == 1             # customer 2 cured by May
    assert counts.to_numpy().sum() == 4
    assert rates.shares.loc["1-29"].tolist() == [0.5, 0.5, 0.0, 0.0, 0.0]
    assert rates.roll_forward["current"] == 0.0


def test_bad_settings_are_refused_with_the_rule():
    tables = tiny_tables()
    with pytest.raises(ConfigError, match="increasing"):
        bucket_labels([30, 1])
    with pytest.raises(ConfigError, match="two dates"):
        roll_rates(tables["bills"], tables["repayments"], [utc("2024-03-01")])
    with pytest.raises(ConfigError, match="cohort_by"):
        vintage_curves(tables["customers"], tables["bills"], tables["repayments"],
                       utc("2024-06-01"), cohort_by="week")
    assert bucket_labels([1, 30]) == ["current", "1-29", "30+"]


@pytest.fixture(scope="module")
def portfolio() -> dict[str, pd.DataFrame]:
    return cm.simulate_portfolio(cm.SimulatorConfig(n_customers=400, seed=3)).tables


def _known_before(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> dict[str, pd.DataFrame]:
    return {
        "customers": tables["customers"][tables["customers"]["signed_up_at"] < cutoff],
        "bills": tables["bills"][tables["bills"]["statement_date"] < cutoff],
        "repayments": tables["repayments"][tables["repayments"]["repaid_at"] < cutoff],
    }


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.integers(min_value=120, max_value=800))
def test_curves_and_roll_rates_use_nothing_at_or_after_their_dates(portfolio, days):
    """Curves cut at an extraction date, and roll rates up to a date, are the same whether or not
    the tables hold the events at or after it."""
    cutoff = utc("2023-01-01") + pd.Timedelta(days=days)
    known = _known_before(portfolio, cutoff)
    full = vintage_curves(portfolio["customers"], portfolio["bills"], portfolio["repayments"],
                          cutoff)
    pd.testing.assert_frame_equal(
        full, vintage_curves(known["customers"], known["bills"], known["repayments"], cutoff))
    by_cohort = full.groupby("cohort")
    assert (by_cohort["accounts"].nunique() == 1).all()        # one denominator per curve
    assert by_cohort["bad_share"].apply(lambda share: share.is_monotonic_increasing).all()
    dates = [cutoff - pd.DateOffset(months=2), cutoff - pd.DateOffset(months=1), cutoff]
    pd.testing.assert_frame_equal(
        roll_rates(portfolio["bills"], portfolio["repayments"], dates).counts,
        roll_rates(known["bills"], known["repayments"], dates).counts)
