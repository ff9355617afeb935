"""What each customer owes: bills, revolving balance, instalment plans, and the limit they use.

Money rules (amounts in cents-rounded floats):

* A bill issued on the 1st of month t holds the revolving part (last month's one-instalment
  purchases plus the carried balance with one month's interest) and this month's instalment parts
  with their fees. Its minimum due is ``min(amount_due, instalment parts + share * revolving part)``
  rounded *up* to the cent (so a positive bill always has a positive minimum).
* A bill stays *open* until repayments against it reach its minimum due; then whatever is left of
  it revolves into the next bill. Arrears of a bill that is not paid stay on that bill: a bill's
  minimum only counts its own amounts.
* The outstanding balance (what occupies the limit) is the open bills' remainders, the balance
  waiting to revolve, this month's purchases and the instalment principal not yet billed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BILL_SLOTS = 6
"""Bills kept per customer (a ring indexed by month): more than the longest unpaid run (a run of
four missed bills ends in charge-off, after which no bill is issued)."""
INSTALMENT_SLOTS = 13
"""Future statements an instalment plan can reach: 12 months ahead plus the current one."""
CENT_TOLERANCE = 0.005


def round_cents(values: np.ndarray) -> np.ndarray:
    return np.round(values, 2)


def ceil_cents(values: np.ndarray) -> np.ndarray:
    """Round up to the cent, ignoring binary noise (12.30000001 stays 12.30)."""
    return np.ceil(np.round(values * 100, 6)) / 100


def floor_cents(values: np.ndarray) -> np.ndarray:
    return np.floor(np.round(values * 100, 6)) / 100


@dataclass
class StatementRun:
    """The bills issued at one statement date."""

    customers: np.ndarray
    amount_due: np.ndarray
    minimum_due: np.ndarray
    finance_charges: np.ndarray
    """Interest on the carried balance plus instalment fees in each bill."""


@dataclass
class Ledger:
    limit: np.ndarray
    """Permanent credit limit (temporary promotion raises live only within their month)."""
    revolving_carry: np.ndarray
    """Remainders of bills paid at least to their minimum, revolving into the next bill."""
    unbilled_purchases: np.ndarray
    unbilled_instalment_principal: np.ndarray
    instalment_principal: np.ndarray
    """(n, INSTALMENT_SLOTS) principal parts due at future statements, indexed by month."""
    instalment_fee: np.ndarray
    bill_month: np.ndarray
    """(n, BILL_SLOTS) month of the bill in each slot (-1: none)."""
    bill_amount: np.ndarray
    bill_minimum: np.ndarray
    bill_paid: np.ndarray
    bill_remaining: np.ndarray
    bill_open: np.ndarray
    """Minimum due not yet reached (for a bill already past its due date: delinquent)."""
    bill_has_partial: np.ndarray
    """A payment below the minimum was made against the bill (at most one is)."""

    @classmethod
    def open_accounts(cls, initial_limit: np.ndarray) -> Ledger:
        count = len(initial_limit)
        zeros = np.zeros(count)
        bills = np.zeros((count, BILL_SLOTS))
        return cls(
            limit=initial_limit.astype(float).copy(),
            revolving_carry=zeros.copy(),
            unbilled_purchases=zeros.copy(),
            unbilled_instalment_principal=zeros.copy(),
            instalment_principal=np.zeros((count, INSTALMENT_SLOTS)),
            instalment_fee=np.zeros((count, INSTALMENT_SLOTS)),
            bill_month=np.full((count, BILL_SLOTS), -1, dtype=np.int64),
            bill_amount=bills.copy(),
            bill_minimum=bills.copy(),
            bill_paid=bills.copy(),
            bill_remaining=bills.copy(),
            bill_open=np.zeros((count, BILL_SLOTS), dtype=bool),
            bill_has_partial=np.zeros((count, BILL_SLOTS), dtype=bool),
        )

    def outstanding(self) -> np.ndarray:
        return round_cents(
            self.bill_remaining.sum(axis=1)
            + self.revolving_carry
            + self.unbilled_purchases
            + self.unbilled_instalment_principal
        )

    def overdue_bills(self, month: int) -> np.ndarray:
        """(n, BILL_SLOTS) mask of open bills issued before ``month`` (so already past due)."""
        return self.bill_open & (self.bill_month >= 0) & (self.bill_month < month)

    def issue_statements(
        self, month: int, billable: np.ndarray, interest_rate: float, minimum_share: float
    ) -> StatementRun:
        customers = np.flatnonzero(billable)
        slot = month % BILL_SLOTS
        if self.bill_open[customers, slot].any():
            raise RuntimeError("bill ring overflow: an open bill would be overwritten")
        instalment_slot = month % INSTALMENT_SLOTS
        principal = self.instalment_principal[customers, instalment_slot]
        fee = self.instalment_fee[customers, instalment_slot]
        self.instalment_principal[:, instalment_slot] = 0.0
        self.instalment_fee[:, instalment_slot] = 0.0
        carried_with_interest = round_cents(self.revolving_carry[customers] * (1 + interest_rate))
        interest = round_cents(carried_with_interest - self.revolving_carry[customers])
        revolving = carried_with_interest + self.unbilled_purchases[customers]
        amount = round_cents(revolving + principal + fee)
        formula = ceil_cents(principal + fee + minimum_share * revolving)
        minimum = np.where(amount > 0, np.minimum(amount, formula), 0.0)
        remaining_principal = round_cents(self.unbilled_instalment_principal[customers] - principal)
        self.unbilled_instalment_principal[customers] = np.where(
            np.abs(remaining_principal) < CENT_TOLERANCE, 0.0, remaining_principal
        )
        self.revolving_carry[customers] = 0.0
        self.unbilled_purchases[customers] = 0.0
        self.bill_month[customers, slot] = month
        self.bill_amount[customers, slot] = amount
        self.bill_minimum[customers, slot] = minimum
        self.bill_paid[customers, slot] = 0.0
        self.bill_remaining[customers, slot] = amount
        self.bill_open[customers, slot] = minimum > 0
        self.bill_has_partial[customers, slot] = False
        return StatementRun(customers, amount, minimum, round_cents(interest + fee))

    def apply_payments(self, customers: np.ndarray, slots: np.ndarray, amounts: np.ndarray) -> None:
        """Allocate payments to bills; (customer, slot) pairs must be distinct within a call. A bill
        reaching its minimum closes and its remainder revolves into the next bill."""
        if len(customers) == 0:
            return
        self.bill_paid[customers, slots] = round_cents(self.bill_paid[customers, slots] + amounts)
        remaining = round_cents(self.bill_remaining[customers, slots] - amounts)
        settles = self.bill_open[customers, slots] & (
            self.bill_paid[customers, slots] >= self.bill_minimum[customers, slots] - CENT_TOLERANCE
        )
        np.add.at(self.revolving_carry, customers[settles], np.maximum(remaining[settles], 0.0))
        self.revolving_carry = round_cents(self.revolving_carry)
        self.bill_remaining[customers, slots] = np.where(settles, 0.0, remaining)
        self.bill_open[customers, slots] &= ~settles

    def add_purchases(
        self,
        customers: np.ndarray,
        amounts: np.ndarray,
        instalment_months: np.ndarray,
        month: int,
        fee_rate: float,
    ) -> None:
        """Book accepted orders: one-instalment orders wait for the next bill; instalment plans
        are split into equal parts (the last absorbs the rounding) billed from the next month on,
        each with a fee."""
        single = instalment_months == 1
        np.add.at(self.unbilled_purchases, customers[single], amounts[single])
        self.unbilled_purchases = round_cents(self.unbilled_purchases)
        plans = ~single
        if not plans.any():
            return
        plan_customers = customers[plans]
        principal = amounts[plans]
        months = instalment_months[plans]
        np.add.at(self.unbilled_instalment_principal, plan_customers, principal)
        self.unbilled_instalment_principal = round_cents(self.unbilled_instalment_principal)
        part = round_cents(principal / months)
        last_part = round_cents(principal - (months - 1) * part)
        fee = round_cents(fee_rate * principal)
        repeated = np.repeat(np.arange(len(principal)), months)
        ahead = np.arange(len(repeated)) - np.repeat(np.cumsum(months) - months, months) + 1
        is_last = ahead == months[repeated]
        slots = (month + ahead) % INSTALMENT_SLOTS
        np.add.at(
            self.instalment_principal,
            (plan_customers[repeated], slots),
            np.where(is_last, last_part[repeated], part[repeated]),
        )
        np.add.at(self.instalment_fee, (plan_customers[repeated], slots), fee[repeated])
        self.instalment_principal = round_cents(self.instalment_principal)
        self.instalment_fee = round_cents(self.instalment_fee)
