"""The limit replay on hand-built histories with known outcomes, plus monotonicity properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_models.errors import ConfigError, TrainingDataError
from credit_models.limits.replay import (
    Replay,
    demand_events,
    observed_schedule,
    opening_balance,
    repayment_events,
    replay,
    static_schedule,
)

START, END = pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-02-01", tz="UTC")


def at(day: int, hour: int = 12) -> pd.Timestamp:
    return START + pd.Timedelta(days=day - 1, hours=hour)


def demand(*rows: tuple[int, pd.Timestamp, float]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "at", "amount"])
    return frame.assign(source="order").astype({"at": "datetime64[us, UTC]"})


def repaid(*rows: tuple[int, pd.Timestamp, float]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "at", "amount"])
    return frame.astype({"customer_id": "int64", "amount": "float64", "at": "datetime64[us, UTC]"})


NO_REPAYMENTS = repaid()
NO_OPENING = pd.Series(dtype="float64", name="balance")


def test_order_exactly_at_the_limit_is_accepted_and_the_next_is_not() -> None:
    schedule = static_schedule(pd.Series({1: 100.0}), START)
    result = replay(demand((1, at(1), 60.0), (1, at(2), 40.0), (1, at(3), 0.01)),
                    NO_REPAYMENTS, schedule, NO_OPENING)
    assert isinstance(result, Replay)
    assert result.orders["accepted"].tolist() == [True, True, False]
    assert result.orders["available"].tolist() == pytest.approx([100.0, 40.0, 0.0])
    assert result.orders["limit"].tolist() == [100.0] * 3
    assert result.customers.loc[1, "peak_balance"] == pytest.approx(100.0)
    assert result.customers.loc[1, "end_balance"] == pytest.approx(100.0)


def test_floating_point_noise_at_the_limit_is_tolerated() -> None:
    schedule = static_schedule(pd.Series({1: 0.3}), START)
    result = replay(demand((1, at(1), 0.1), (1, at(2), 0.2)), NO_REPAYMENTS, schedule,
                    pd.Series({1: 0.0}))
    assert result.orders["accepted"].all()


def test_repayment_restores_room_and_balance_floors_at_zero() -> None:
    schedule = static_schedule(pd.Series({1: 100.0}), START)
    orders = demand((1, at(1), 80.0), (1, at(2), 50.0), (1, at(3), 50.0), (1, at(5), 100.0))
    # The repayment at day 3 sits at the same instant as an order: repayments go first.
    payments = repaid((1, at(3), 40.0), (1, at(4), 500.0))
    result = replay(orders, payments, schedule, pd.Series({1: 10.0}))
    # opening 10; +80 -> 90; 50 declined; repay 40 -> 50; +50 -> 100; repay 500 -> 0; +100.
    assert result.orders["accepted"].tolist() == [True, False, True, True]
    assert result.orders["available"].tolist() == pytest.approx([90.0, 10.0, 50.0, 100.0])
    summary = result.customers.loc[1]
    assert summary["peak_balance"] == pytest.approx(100.0)
    assert summary["end_balance"] == pytest.approx(100.0)
    # balance/limit after each of the six events: .9 .9 .5 1 0 1
    assert summary["mean_utilisation"] == pytest.approx((0.9 + 0.9 + 0.5 + 1 + 0 + 1) / 6)


def test_promotion_window_accepts_a_big_order_inside_but_not_after_it_ends() -> None:
    promotions = pd.DataFrame({
        "customer_id": [1], "starts_at": [at(10, 0)], "ends_at": [at(20, 0)], "extra": [500.0],
    })
    schedule = static_schedule(pd.Series({1: 100.0, 2: 50.0}), START, promotions)
    assert schedule.loc[schedule["customer_id"] == 1, "limit"].tolist() == [100.0, 600.0, 100.0]
    assert schedule.loc[schedule["customer_id"] == 2, "limit"].tolist() == [50.0]
    orders = demand((1, at(9), 300.0), (1, at(10, 0), 300.0), (1, at(20, 0), 300.0))
    payments = repaid((1, at(15), 300.0))
    result = replay(orders, payments, schedule, NO_OPENING)
    assert result.orders["accepted"].tolist() == [False, True, False]
    assert result.orders["limit"].tolist() == [100.0, 600.0, 100.0]


def test_overlapping_promotions_add_up_and_one_begun_before_start_counts_from_start() -> None:
    promotions = pd.DataFrame({
        "customer_id": [1, 1],
        "starts_at": [START - pd.Timedelta(days=5), at(3)],
        "ends_at": [at(5), at(8)],
        "extra": [10.0, 20.0],
    })
    schedule = static_schedule(pd.Series({1: 100.0}), START, promotions)
    assert schedule["starts_at"].tolist() == [START, at(3), at(5), at(8)]
    assert schedule["limit"].tolist() == [110.0, 130.0, 120.0, 100.0]


def test_invalid_static_inputs_are_named() -> None:
    with pytest.raises(ConfigError, match="limits"):
        static_schedule(pd.Series({1: -5.0}), START)
    with pytest.raises(ConfigError, match="promotions.ends_at"):
        static_schedule(pd.Series({1: 5.0}), START, pd.DataFrame({
            "customer_id": [1], "starts_at": [at(5)], "ends_at": [at(4)], "extra": [1.0]}))
    with pytest.raises(TrainingDataError, match="schedule"):
        replay(demand((1, at(1), 1.0)), NO_REPAYMENTS, pd.DataFrame({"customer_id": [1]}),
               NO_OPENING)


def test_customer_not_in_the_schedule_is_declined_with_no_line() -> None:
    schedule = static_schedule(pd.Series({1: 100.0}), START)
    result = replay(demand((1, at(1), 10.0), (2, at(1), 10.0)), NO_REPAYMENTS, schedule,
                    NO_OPENING)
    assert result.orders["accepted"].tolist() == [True, False]
    assert result.orders["limit"].tolist() == [100.0, 0.0]
    assert set(result.customers.index) == {1, 2}
    assert np.isnan(result.customers.loc[2, "mean_utilisation"])


def test_customers_without_events_are_covered_with_their_opening_balance() -> None:
    schedule = static_schedule(pd.Series({1: 100.0, 3: 200.0}), START)
    result = replay(demand((1, at(1), 10.0)), NO_REPAYMENTS, schedule, pd.Series({3: 50.0}))
    assert result.customers.loc[3].tolist()[:2] == [50.0, 50.0]
    assert np.isnan(result.customers.loc[3, "mean_utilisation"])


def test_observed_schedule_picks_the_limit_at_start_then_steps() -> None:
    events = pd.DataFrame({
        "limit_event_id": [1, 2, 3, 4, 5, 6, 7],
        "customer_id": [1, 1, 1, 1, 2, 3, 1],
        "changed_at": [START - pd.Timedelta(days=60), START - pd.Timedelta(days=10),
                       at(5), at(9), START, at(3), END],
        "old_limit": [np.nan, 100.0, 150.0, 400.0, np.nan, np.nan, 150.0],
        "new_limit": [100.0, 150.0, 400.0, 150.0, 70.0, 90.0, 999.0],
        "reason": ["initial", "periodic_raise", "promotion_raise", "promotion_expiry",
                   "initial", "initial", "risk_cut"],
    })
    schedule = observed_schedule(events, START, END)
    assert list(schedule.columns) == ["customer_id", "starts_at", "limit"]
    rows = list(schedule.itertuples(index=False, name=None))
    assert rows == [(1, START, 150.0), (1, at(5), 400.0), (1, at(9), 150.0),
                    (2, START, 70.0), (3, at(3), 90.0)]
    # Customer 3 opens its line inside the window: demand before the grant meets no line.
    result = replay(demand((3, at(2), 10.0), (3, at(3), 10.0)), NO_REPAYMENTS, schedule,
                    NO_OPENING)
    assert result.orders["accepted"].tolist() == [False, True]


def test_demand_repayments_and_opening_balance_from_the_contract_tables() -> None:
    orders = pd.DataFrame({
        "order_id": [1, 2, 3, 4],
        "customer_id": [2, 1, 1, 1],
        "ordered_at": [at(2), START - pd.Timedelta(days=3), at(4), END],
        "amount": [5.0, 30.0, 7.0, 9.0],
    }).astype({"ordered_at": "datetime64[us, UTC]"})
    declines = pd.DataFrame({
        "decline_id": [1, 2],
        "customer_id": [1, 1],
        "declined_at": [at(1), at(3)],
        "amount": [50.0, 60.0],
        "reason": ["insufficient_limit", "risk_rule"],
    }).astype({"declined_at": "datetime64[us, UTC]"})
    events = demand_events(orders, declines, START, END)
    assert list(events.columns) == ["customer_id", "at", "amount", "source"]
    assert events[["customer_id", "amount", "source"]].values.tolist() == [
        [1, 50.0, "declined_insufficient_limit"], [1, 7.0, "order"], [2, 5.0, "order"]]
    assert len(demand_events(orders, None, START, END)) == 2

    repayments = pd.DataFrame({
        "repayment_id": [1, 2, 3], "customer_id": [1, 1, 3], "bill_id": [1, 1, 2],
        "repaid_at": [START - pd.Timedelta(days=1), at(6), START - pd.Timedelta(days=1)],
        "amount": [12.0, 3.0, 4.0],
    }).astype({"repaid_at": "datetime64[us, UTC]"})
    assert repayment_events(repayments, START, END)["amount"].tolist() == [3.0]
    balance = opening_balance(orders, repayments, START)
    assert balance.name == "balance" and balance.index.name == "customer_id"
    assert balance.to_dict() == {1: 18.0, 3: 0.0}
    with pytest.raises(ConfigError, match="start < end"):
        demand_events(orders, declines, END, START)


@st.composite
def portfolios(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    n_customers = draw(st.integers(1, 6))
    customers = st.integers(1, n_customers)
    hours = st.integers(0, 24 * 30)
    money = st.floats(0.0, 500.0, allow_nan=False).map(lambda x: round(x, 2))
    orders = draw(st.lists(st.tuples(customers, hours, money), max_size=40))
    payments = draw(st.lists(st.tuples(customers, hours, money), max_size=15))
    limits = pd.Series(
        draw(st.lists(money, min_size=n_customers, max_size=n_customers)),
        index=range(1, n_customers + 1),
    )
    opening = pd.Series(draw(st.lists(money, min_size=n_customers, max_size=n_customers)),
                        index=range(1, n_customers + 1))

    def as_events(rows: list[tuple[int, int, float]]) -> list[tuple[int, pd.Timestamp, float]]:
        return [(c, START + pd.Timedelta(hours=h), a) for c, h, a in rows]

    return demand(*as_events(orders)), repaid(*as_events(payments)), limits, opening


def test_a_higher_limit_can_decline_more_orders_later() -> None:
    """Why monotonicity is stated per first divergence, not as a count: a big order that only the
    higher limit accepts uses the room that later smaller orders would have had."""
    orders = demand((1, at(1), 120.0), (1, at(2), 50.0), (1, at(3), 50.0))
    lower = replay(orders, NO_REPAYMENTS, static_schedule(pd.Series({1: 100.0}), START), NO_OPENING)
    higher = replay(orders, NO_REPAYMENTS, static_schedule(pd.Series({1: 150.0}), START),
                    NO_OPENING)
    assert lower.orders["accepted"].tolist() == [False, True, True]
    assert higher.orders["accepted"].tolist() == [True, False, False]


def first_differences(lower: pd.DataFrame, higher: pd.DataFrame) -> pd.DataFrame:
    """Per customer, the first demand event (in replay order) decided differently."""
    both = lower[["customer_id", "at"]].assign(
        low=lower["accepted"].to_numpy(), high=higher["accepted"].to_numpy())
    both = both.sort_values(["customer_id", "at"], kind="stable")
    differ = both[both["low"] != both["high"]]
    return differ.groupby("customer_id").head(1)


@settings(max_examples=50, deadline=None)
@given(portfolios(), st.floats(0.0, 300.0, allow_nan=False))
def test_raising_every_limit_first_changes_a_decline_into_an_acceptance(
    case, raise_by: float
) -> None:
    orders, payments, limits, opening = case
    lower = replay(orders, payments, static_schedule(limits, START), opening)
    higher = replay(orders, payments, static_schedule(limits + raise_by, START), opening)
    first = first_differences(lower.orders, higher.orders)
    assert first["high"].all() and not first["low"].any()
    # So a customer with nothing declined under the lower limit has nothing declined under
    # the higher one, and the first decline of every customer comes no earlier.
    clean = lower.orders.groupby("customer_id")["accepted"].all()
    clean = clean[clean].index
    assert higher.orders.loc[higher.orders["customer_id"].isin(clean), "accepted"].all()


@settings(max_examples=50, deadline=None)
@given(portfolios())
def test_a_zero_limit_declines_every_positive_order(case) -> None:
    orders, payments, limits, opening = case
    result = replay(orders, payments, static_schedule(limits * 0, START), opening)
    positive = result.orders["amount"] > 0
    assert not result.orders.loc[positive, "accepted"].any()
    assert (result.orders["available"] == 0).all()
