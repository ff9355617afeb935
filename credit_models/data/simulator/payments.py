"""Who pays what, when: the month's repayments, decided at the statement from the latent states.

* Distressed last month (D_{t-1} = 1): nothing that reaches a minimum due; a few pay a token
  amount below it against their oldest missed bill (bust-outs pay nothing at all).
* Otherwise: this month's bill, at least its minimum (full, minimum only, or in between; riskier
  and shocked customers revolve more), mostly on days 1-15; a small share, growing with risk,
  pays carelessly 1-25 days after the due date (possibly next month). Coming back from distress
  (D_{t-2} = 1) they also cure every missed bill (its minimum, one row per bill) on days 1-15.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from credit_models.data.simulator.calendar import MICROSECONDS_PER_DAY, MICROSECONDS_PER_SECOND
from credit_models.data.simulator.latent import LatentState, sigmoid
from credit_models.data.simulator.ledger import BILL_SLOTS, Ledger, floor_cents, round_cents
from credit_models.data.simulator.month import (
    NEVER,
    NO_MONTH,
    U_CARELESS,
    U_CURE_TIME,
    U_LATE_TIME,
    U_LATENESS,
    U_PARTIAL_SHARE,
    U_PAYMENT_MODE,
    U_PAYMENT_TIME,
    U_TOKEN_PAYMENT,
    U_TOKEN_SHARE,
    U_TOKEN_TIME,
    MonthContext,
)
from credit_models.data.simulator.population import Population

PAYMENT_WINDOW_DAYS = 15
"""On-time payments and cures arrive on days 1-15, before the due date on the 20th."""
CARELESS_LATENESS_DAYS = 25
CARELESS_LATENESS_ENTERING_DISTRESS_DAYS = 5
"""A customer entering distress still pays this month's bill, but by the 25th (before the
draw-down) and never in the next month, whose payments D says must not happen."""
TOKEN_PAYMENT_SHARE = 0.2

RepaymentRows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""(customers, bill slots, amounts, times) of some repayments."""


@dataclass
class CarriedPayments:
    """Careless payments of last month's bill that fall into this month."""

    time_us: np.ndarray
    amount: np.ndarray
    slot: np.ndarray

    @classmethod
    def none(cls, count: int) -> CarriedPayments:
        return cls(np.full(count, NEVER, dtype=np.int64), np.zeros(count),
                   np.zeros(count, dtype=np.int64))


@dataclass
class PaymentPlan:
    """This month's payments. ``times``/``amounts`` give, per customer and kind (cure, carried,
    bill, token), when and how much (``NEVER``/0 when absent): what the available limit needs at
    any instant of the month."""

    times: dict[str, np.ndarray]
    amounts: dict[str, np.ndarray]
    rows: list[RepaymentRows]
    bill_cleared_at: np.ndarray
    """When this month's bill reaches its minimum (``NEVER`` when it is not paid)."""
    paid_before_due: np.ndarray
    carried: CarriedPayments
    """Careless payments of this month's bill falling into next month."""

    def paid_before(self, customers: np.ndarray, instants: np.ndarray) -> np.ndarray:
        total = np.zeros(len(customers))
        for kind, times in self.times.items():
            total += np.where(times[customers] < instants, self.amounts[kind][customers], 0.0)
        return total

    @property
    def delinquency_cleared_at(self) -> np.ndarray:
        """When the bills already past due at the statement are all back to their minimum."""
        return np.minimum(self.times["cure"], self.times["carried"])


def plan_payments(
    context: MonthContext,
    population: Population,
    ledger: Ledger,
    latent: LatentState,
    carried: CarriedPayments,
    extraction_us: int,
) -> PaymentPlan:
    """Every payment of the month (and marks the bills that receive a token payment)."""
    count = len(population)
    uniform = context.uniform
    risk, shock = population.risk, latent.shock
    distressed_last_month = latent.distress_previous

    def in_payment_window(draw: np.ndarray) -> np.ndarray:
        seconds = np.floor(draw * PAYMENT_WINDOW_DAYS * 86_400).astype(np.int64)
        return context.start_us + seconds * MICROSECONDS_PER_SECOND

    rows: list[RepaymentRows] = []
    has_carried = carried.time_us < NEVER
    who = np.flatnonzero(has_carried)
    rows.append((who, carried.slot[who], carried.amount[who], carried.time_us[who]))

    # Back from distress: the minimum of every missed bill, one row per bill.
    cures = context.has_overdue & ~distressed_last_month & latent.distress_before_previous
    cure_time = in_payment_window(uniform[:, U_CURE_TIME])
    who, slots = np.nonzero(context.overdue & cures[:, None])
    minimum, paid = ledger.bill_minimum[who, slots], ledger.bill_paid[who, slots]
    cure_amount = round_cents(minimum - paid)
    cure_amount = round_cents(cure_amount + np.where(paid + cure_amount < minimum, 0.01, 0.0))
    rows.append((who, slots, cure_amount, cure_time[who]))
    cure_total = np.bincount(who, weights=cure_amount, minlength=count)

    # This month's bill, by customers who were not distressed last month.
    amount_due, minimum_due = context.amount_due, context.minimum_due
    payer = context.billable & ~distressed_last_month & (amount_due > 0)
    full_share = sigmoid(1.6 - 0.9 * risk - 1.2 * shock)
    minimum_only_share = sigmoid(-0.4 + 0.6 * risk + 1.0 * shock)
    mode = uniform[:, U_PAYMENT_MODE]
    pays_full = mode < full_share
    pays_minimum = ~pays_full & (mode < full_share + (1 - full_share) * minimum_only_share)
    between = minimum_due + floor_cents(uniform[:, U_PARTIAL_SHARE] * (amount_due - minimum_due))
    amount = np.where(pays_full, amount_due, np.where(pays_minimum, minimum_due, between))
    careless = uniform[:, U_CARELESS] < sigmoid(-4.0 + 0.8 * risk + 0.5 * shock)
    lateness = 1 + np.floor(uniform[:, U_LATENESS] * CARELESS_LATENESS_DAYS).astype(np.int64)
    lateness = np.where(
        latent.distress, np.minimum(lateness, CARELESS_LATENESS_ENTERING_DISTRESS_DAYS), lateness
    )
    late_time = (
        context.due_us + lateness * MICROSECONDS_PER_DAY
        + np.floor(uniform[:, U_LATE_TIME] * 86_400).astype(np.int64) * MICROSECONDS_PER_SECOND
    )
    pay_time = np.where(careless, late_time, in_payment_window(uniform[:, U_PAYMENT_TIME]))
    pays_now = payer & (pay_time < context.end_us)
    carries = payer & (pay_time >= context.end_us) & (pay_time < extraction_us)
    who = np.flatnonzero(pays_now)
    rows.append((who, np.full(len(who), context.month % BILL_SLOTS), amount[who], pay_time[who]))

    # A token payment below the minimum against the oldest missed bill: never enough to cure.
    eligible = (
        ledger.bill_open & ~ledger.bill_has_partial & (ledger.bill_month >= 0)
        & (ledger.bill_minimum - ledger.bill_paid >= 0.03)
    )
    oldest = np.where(eligible, ledger.bill_month, NO_MONTH).argmin(axis=1)
    everyone = np.arange(count)
    owed = ledger.bill_minimum[everyone, oldest] - ledger.bill_paid[everyone, oldest]
    token = floor_cents((0.1 + 0.5 * uniform[:, U_TOKEN_SHARE]) * owed)
    token_time = in_payment_window(uniform[:, U_TOKEN_TIME])
    pays_token = (
        context.billable & distressed_last_month & ~population.is_bust_out
        & eligible[everyone, oldest] & (uniform[:, U_TOKEN_PAYMENT] < TOKEN_PAYMENT_SHARE)
        & (token >= 0.01) & (token <= owed - 0.01) & (token_time < context.charge_off_us)
    )
    who = np.flatnonzero(pays_token)
    ledger.bill_has_partial[who, oldest[who]] = True
    rows.append((who, oldest[who], token[who], token_time[who]))

    return PaymentPlan(
        times={
            "cure": np.where(cures, cure_time, NEVER),
            "carried": carried.time_us,
            "bill": np.where(pays_now, pay_time, NEVER),
            "token": np.where(pays_token, token_time, NEVER),
        },
        amounts={
            "cure": cure_total,
            "carried": np.where(has_carried, carried.amount, 0.0),
            "bill": np.where(pays_now, amount, 0.0),
            "token": np.where(pays_token, token, 0.0),
        },
        rows=rows,
        bill_cleared_at=np.where(payer, pay_time, NEVER),
        paid_before_due=payer & ~careless,
        carried=CarriedPayments(
            time_us=np.where(carries, pay_time, NEVER),
            amount=np.where(carries, amount, 0.0),
            slot=np.full(count, context.month % BILL_SLOTS, dtype=np.int64),
        ),
    )
