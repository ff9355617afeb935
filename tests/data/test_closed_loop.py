"""Closed-loop simulation: the window after a snapshot simulated again under other limits, with
common random numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_models.data.simulator.closed_loop import (
    ALL,
    SIMULATOR_POLICY,
    THICK_FILE,
    THIN_FILE,
    ClosedLoopWindow,
    closed_loop_outcomes,
)
from credit_models.data.simulator.config import SimulatorConfig
from credit_models.data.simulator.generate import simulate_portfolio
from credit_models.data.simulator.limit_policy import LimitReviews
from credit_models.data.simulator.scheduled_limits import LimitSchedule
from credit_models.errors import ConfigError

CONFIG = SimulatorConfig(n_customers=1_500, chunk_size=1_000, seed=11, months=24)
START, END = pd.Timestamp("2024-05-01", tz="UTC"), pd.Timestamp("2024-12-01", tz="UTC")
CAMPAIGNS = {"618": (pd.Timestamp("2024-06-01", tz="UTC"), pd.Timestamp("2024-06-21", tz="UTC")),
             "double_11": (pd.Timestamp("2024-11-01", tz="UTC"),
                           pd.Timestamp("2024-11-14", tz="UTC"))}
WINDOW = ClosedLoopWindow(START, END, CAMPAIGNS)


@pytest.fixture(scope="module")
def portfolio():
    return simulate_portfolio(CONFIG)


@pytest.fixture(scope="module")
def held(portfolio) -> pd.DataFrame:
    """The limits in force at the snapshot, held through the window."""
    events = portfolio.tables["limit_events"]
    before = events[events["changed_at"] <= START].sort_values(["customer_id", "changed_at"])
    last = before.groupby("customer_id").tail(1)
    return pd.DataFrame({"customer_id": last["customer_id"].to_numpy(), "starts_at": START,
                         "limit": last["new_limit"].to_numpy()})


@pytest.fixture(scope="module")
def by_segment(held) -> pd.DataFrame:
    return closed_loop_outcomes(CONFIG, {
        SIMULATOR_POLICY: None, "held": held, "generous": held.assign(limit=held["limit"] * 2),
        "no_line": held.assign(limit=0.0),
    }, WINDOW)


@pytest.fixture(scope="module")
def outcomes(by_segment) -> pd.DataFrame:
    return by_segment.xs(ALL, level="segment")


def test_the_simulators_own_policy_reproduces_the_history(portfolio, held, outcomes):
    customers = set(held["customer_id"])

    def in_window(table: str, column: str) -> pd.DataFrame:
        frame = portfolio.tables[table]
        return frame[(frame[column] >= START) & (frame[column] < END)
                     & frame["customer_id"].isin(customers)]

    orders = in_window("orders", "ordered_at")
    declines = in_window("declines", "declined_at")
    declines = declines[declines["reason"] == "insufficient_limit"]
    own = outcomes.loc[SIMULATOR_POLICY]
    assert own["orders_accepted"] == len(orders)
    assert own["orders_declined"] == len(declines)
    assert own["spend"] == pytest.approx(orders["amount"].sum(), rel=1e-12)


def test_policies_share_customers_shocks_and_distress(outcomes):
    # Common random numbers: the latent path does not depend on the limits.
    assert outcomes["customers"].nunique() == 1
    assert outcomes["defaults"].nunique() == 1
    # Accounts with a balance are charged off at the same instant (no line, no bill: none is).
    assert outcomes.loc[[SIMULATOR_POLICY, "held", "generous"], "charged_off"].nunique() == 1
    assert outcomes.loc["held", "defaults"] > 0


def test_limits_change_what_customers_can_buy_and_what_they_owe(outcomes):
    held, generous, none = (outcomes.loc[label] for label in ("held", "generous", "no_line"))
    assert generous["orders_declined"] < held["orders_declined"]
    assert generous["spend"] > held["spend"]
    assert generous["end_balance"] > held["end_balance"]
    # A customer entering distress draws the whole available limit: more room, more loss.
    assert generous["realised_loss"] > held["realised_loss"]
    assert none["orders_accepted"] == 0 and none["spend"] == 0
    # Held limits never grow; doubled ones grow for everyone with a line.
    assert held["never_raised"] == held["open_accounts"]
    assert generous["never_raised"] == 0
    for name in CAMPAIGNS:
        assert 0 <= generous[f"declined_order_rate/{name}"] <= held[f"declined_order_rate/{name}"]


def test_the_same_call_gives_the_same_outcomes(held, by_segment):
    again = closed_loop_outcomes(CONFIG, {SIMULATOR_POLICY: None, "held": held}, WINDOW)
    pd.testing.assert_frame_equal(again, by_segment.loc[[SIMULATOR_POLICY, "held"]])


def test_thin_and_thick_file_customers_add_up_to_everyone(by_segment):
    counts = ["customers", "orders_accepted", "orders_declined", "defaults", "never_raised"]
    for policy in (SIMULATOR_POLICY, "held"):
        parts = by_segment.loc[(policy, THIN_FILE), counts] + by_segment.loc[
            (policy, THICK_FILE), counts]
        pd.testing.assert_series_equal(parts, by_segment.loc[(policy, ALL), counts],
                                       check_names=False)
    assert by_segment.loc[("held", THIN_FILE), "customers"] > 0


def test_a_schedule_is_a_step_function_within_the_month():
    own = LimitReviews(limit_at_statement=np.array([1_000.0, 2_000.0, 3_000.0]),
                       promotion_extra=np.zeros(3), promotion_us=0, expiry_us=0,
                       raise_step=np.zeros(3), review_us=0)
    schedule = LimitSchedule.build(
        first_month=0, customer=np.array([1, 0, 0, 0]), starts_us=np.array([0, 0, 150, 200]),
        limit=np.array([5_000.0, 800.0, 1_200.0, 900.0]), count=3)
    month = schedule.month(own, start_us=100, end_us=300)
    customers = np.array([0, 0, 0, 1, 2])
    instants = np.array([120, 150, 250, 250, 250])
    np.testing.assert_array_equal(month.limit_at(customers, instants),
                                  [800.0, 1_200.0, 900.0, 5_000.0, 3_000.0])
    np.testing.assert_array_equal(month.permanent_limit, [900.0, 5_000.0, 3_000.0])
    np.testing.assert_array_equal(month.cuts_allowed, [False, False, True])


@pytest.mark.parametrize(("schedule", "message"), [
    (pd.DataFrame({"customer_id": [1], "limit": [1.0]}), "lacks column"),
    (pd.DataFrame({"customer_id": [1], "starts_at": [START], "limit": [-5.0]}), ">= 0"),
])
def test_a_bad_schedule_is_refused_with_its_rows(schedule, message):
    with pytest.raises(ConfigError, match=message):
        closed_loop_outcomes(CONFIG, {"bad": schedule}, WINDOW)


def test_a_window_must_be_whole_months_of_the_history():
    for start, end in ((START + pd.Timedelta(days=3), END), (START, pd.Timestamp("2031-01-01",
                                                                                 tz="UTC"))):
        with pytest.raises(ConfigError, match="closed-loop"):
            closed_loop_outcomes(CONFIG, {SIMULATOR_POLICY: None},
                                 ClosedLoopWindow(start, end, {}))
