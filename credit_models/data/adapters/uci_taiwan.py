"""UCI "default of credit card clients" (Taiwan, April–September 2005) → the event-data contract.

The source has one row per card holder: the credit limit, three application attributes, six
monthly statement balances, six monthly payments, six monthly repayment statuses and the label
(default in October 2005). This adapter writes one bill per customer and month, repayment rows for
every positive payment, one initial limit event, and the source label in the ``labels`` table.

The calendar (all instants 00:00 UTC), with month index 0 = April 2005:

* the statement of month m is issued on the 25th of month m and is due on the 15th of month m+1,
  so the September statement is issued before the snapshot date 2005-10-01 and due after it;
* the payment of month m (against the previous month's statement, as the source says) is dated on
  the 10th of month m, before that statement's due date;
* the repayment status of month m is read on the 15th of month m, at the due instant of the
  previous month's statement: status k >= 1 means that the oldest unpaid statement fell due exactly
  k calendar months earlier (28 to 31 days per month, "about 30 × k"), status <= 0 that nothing is
  past due (the statement falling due at that very instant is not past due yet);
* where a status can only be reproduced by a payment after the status date, the month's payment is
  dated on the 20th instead, or split in two halves dated on the 10th and the 20th.

The statuses are not stored; they are *rebuilt*: each statement's ``minimum_due`` (not in the
source), the date of each payment and its allocation to statements are chosen so that the contract's
derived days past due (:mod:`credit_models.labels.delinquency`) reproduce the status. Where the source
contradicts itself (a status rising by more than one month in a month, an overdue statement settled
in a month without payment), the closest reproducible sequence is used and the customer-months that
differ are counted. See ``data/adapters.md`` for every assumption.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from credit_models.data.adapters.common import (
    AdaptedDataset,
    contract_frame,
    percent,
    read_source_csv,
    require,
)
from credit_models.data.io import DatasetManifest, empty_table
from credit_models.labels.delinquency import bill_cure_times, days_past_due_at

SOURCE_NAME = "uci_taiwan_credit_card"
AS_OF = pd.Timestamp("2005-10-01", tz="UTC")
"""Snapshot date of the source (its label is the October 2005 default) and extraction date."""
FIRST_MONTH = pd.Timestamp("2005-04-01", tz="UTC")
"""Month index 0 (April 2005); negative indexes are the months before the data."""
N_MONTHS = 6
MONTH_NAMES = ("April", "May", "June", "July", "August", "September")
STATEMENT_DAY = 25
DUE_DAY = 15
"""Statements are due on this day of the next month; statuses are read at that instant."""
EARLY_PAYMENT_DAY = 10
LATE_PAYMENT_DAY = 20
REFERENCE_MINIMUM_RATE = 0.03
"""Reference minimum payment: 3 % of a positive statement balance. Among customers with status 0
(revolving credit) the ratio of the payment to the previous statement has a sharp mode at
3.5–3.75 % and few values below 3 %."""
MAX_MONTHS_LATE = 12
"""Largest number of months late the reconstruction considers (the source documents up to 9)."""
SIGNED_UP_AT = pd.Timestamp("2004-03-01", tz="UTC")
"""Placeholder for the unknown sign-up date, the same for every customer (so it carries no
information), before the earliest statement the adapter can create (MAX_MONTHS_LATE months late in
April 2005 needs a statement from March 2004)."""
UNPAID_MARGIN = 1.0
"""Where a still-unpaid statement already received at least its reference minimum, its minimum is
set this much above what was paid, so that it stays unpaid as the status says."""

ID_COLUMN = "ID"
LIMIT_COLUMN = "X1"
SEX_COLUMN = "X2"
ATTRIBUTE_COLUMNS = {"X3": "attr_education", "X4": "attr_marriage", "X5": "attr_age"}
STATUS_COLUMNS = ("X11", "X10", "X9", "X8", "X7", "X6")
"""Repayment status, April .. September (the source lists them September first)."""
BILL_COLUMNS = ("X17", "X16", "X15", "X14", "X13", "X12")
"""Statement balance, April .. September."""
PAYMENT_COLUMNS = ("X23", "X22", "X21", "X20", "X19", "X18")
"""Amount paid, April .. September (each against the previous month's statement)."""
LABEL_COLUMN = "Y"
SOURCE_COLUMNS = [ID_COLUMN, LIMIT_COLUMN, SEX_COLUMN, *ATTRIBUTE_COLUMNS, *STATUS_COLUMNS,
                  *BILL_COLUMNS, *PAYMENT_COLUMNS, LABEL_COLUMN]

_MISMATCH_COST = 1000
_LATER_MONTH_COST = 20
_INFEASIBLE = np.iinfo(np.int64).max // 4


def month_start(month: int) -> pd.Timestamp:
    """The first instant of month ``month`` (0 = April 2005)."""
    return FIRST_MONTH + pd.DateOffset(months=month)


def _instant(month: int, day: int) -> pd.Timestamp:
    return month_start(month) + pd.Timedelta(days=day - 1)


def statement_date(month: int) -> pd.Timestamp:
    return _instant(month, STATEMENT_DAY)


def due_date(month: int) -> pd.Timestamp:
    return _instant(month + 1, DUE_DAY)


STATUS_DATES = tuple(_instant(month, DUE_DAY) for month in range(N_MONTHS))
"""When each monthly status (April .. September) is read: 2005-04-15 .. 2005-09-15, the due
instant of the previous month's statement."""


def expected_days_past_due(months_late: int, status_date: pd.Timestamp) -> float:
    """Days past due at ``status_date`` of a statement that fell due ``months_late`` months before
    (0 when current): the value a status of ``months_late`` maps to."""
    if months_late <= 0:
        return 0.0
    return float((status_date - (status_date - pd.DateOffset(months=months_late))).days)


def reproducible_months_late(status: np.ndarray, paid: np.ndarray) -> np.ndarray:
    """The sequence of months late closest to the source status that days past due can follow.

    ``status``: (customers, 6) repayment statuses April .. September; ``paid``: (customers, 6)
    whether a positive payment was made in each month. Two rules bind a monthly sequence k:

    * k can rise by at most one month per month (days past due grow by one day per day);
    * the oldest overdue statement can only be settled by a payment between the two status dates:
      when k_{m-1} >= 1 and k_m <= k_{m-1}, month m-1 (paid after its status date) or month m
      (paid before its status date) must have a positive payment.

    A dynamic programme over the months finds, per customer, the sequence with the fewest months
    differing from max(status, 0); ties keep later months (closer to the snapshot) exact, then
    prefer the smaller difference.
    """
    target = np.clip(np.asarray(status, dtype=np.int64), 0, None)
    paid = np.asarray(paid, dtype=bool)
    n_customers, n_months = target.shape
    states = np.arange(MAX_MONTHS_LATE + 1)

    def month_cost(month: int) -> np.ndarray:
        difference = np.abs(states[None, :] - target[:, [month]])
        return np.where(
            difference > 0, _MISMATCH_COST + _LATER_MONTH_COST * month + difference, 0
        )

    cost = month_cost(0)
    back = np.zeros((n_months, n_customers, states.size), dtype=np.int8)
    for month in range(1, n_months):
        new_cost = np.empty_like(cost)
        for k_next in states:
            allowed = np.zeros((n_customers, states.size), dtype=bool)
            if k_next >= 1:
                allowed[:, k_next - 1] = True          # one more month late: always possible
            else:
                allowed[:, 0] = True                   # current stays current
            settling = states >= max(k_next, 1)        # the oldest overdue statement is settled
            allowed[:, settling] |= paid[:, [month - 1]] | paid[:, [month]]
            candidates = np.where(allowed, cost, _INFEASIBLE)
            best = candidates.argmin(axis=1)
            back[month, :, k_next] = best
            new_cost[:, k_next] = candidates[np.arange(n_customers), best]
        cost = new_cost + month_cost(month)
    result = np.empty((n_customers, n_months), dtype=np.int64)
    result[:, -1] = cost.argmin(axis=1)
    rows = np.arange(n_customers)
    for month in range(n_months - 1, 0, -1):
        result[:, month - 1] = back[month, rows, result[:, month]]
    return result


def convert_uci_taiwan(source_csv: str | Path) -> AdaptedDataset:
    """Convert the UCI Taiwan CSV (gzip allowed) into contract tables, manifest and report."""
    path = Path(source_csv)
    source = read_source_csv(path, SOURCE_COLUMNS)
    _check_source(source, path)
    source = source.sort_values(ID_COLUMN, kind="stable").reset_index(drop=True)
    n_customers = len(source)

    status = source[list(STATUS_COLUMNS)].to_numpy(dtype=np.int64)
    bills_amount = source[list(BILL_COLUMNS)].to_numpy(dtype=np.float64)
    payments = source[list(PAYMENT_COLUMNS)].to_numpy(dtype=np.float64)
    months_late = reproducible_months_late(status, payments > 0)

    built = _build_events(
        source[ID_COLUMN].to_numpy(dtype=np.int64),
        source[LIMIT_COLUMN].to_numpy(dtype=np.float64),
        bills_amount, payments, months_late,
    )
    if len(built.bills) and built.bills["statement_date"].min() < SIGNED_UP_AT:
        raise RuntimeError("internal error: an opening statement precedes the sign-up placeholder")
    customers = contract_frame("customers", {
        "customer_id": source[ID_COLUMN],
        "signed_up_at": [SIGNED_UP_AT] * n_customers,
        **{name: source[column].astype("int64") for column, name in ATTRIBUTE_COLUMNS.items()},
    })
    limit_events = contract_frame("limit_events", {
        "limit_event_id": np.arange(1, n_customers + 1),
        "customer_id": source[ID_COLUMN],
        "changed_at": [SIGNED_UP_AT] * n_customers,
        "old_limit": np.full(n_customers, np.nan),
        "new_limit": source[LIMIT_COLUMN],
        "reason": ["initial"] * n_customers,
        "expires_at": [pd.NaT] * n_customers,
    })
    labels = contract_frame("labels", {
        "customer_id": source[ID_COLUMN],
        "as_of": [AS_OF] * n_customers,
        "is_bad": source[LABEL_COLUMN] == 1,
    })
    tables = {
        "customers": customers,
        "orders": empty_table("orders"),
        "bills": built.bills,
        "repayments": built.repayments,
        "limit_events": limit_events,
        "labels": labels,
    }
    agree = _status_agreement(built.bills, built.repayments, source, status, months_late)
    report, details = _report(path, source, status, payments, months_late, built, tables, agree)
    manifest = DatasetManifest(
        extraction_date=AS_OF.isoformat(), source=SOURCE_NAME, details=details
    )
    return AdaptedDataset(tables=tables, manifest=manifest, report=report)


def _check_source(source: pd.DataFrame, path: Path) -> None:
    numeric = source[SOURCE_COLUMNS].apply(pd.to_numeric, errors="coerce")
    require(source, numeric.isna().any(axis=1), path,
            "every column must hold a number (missing or non-numeric values found)",
            SOURCE_COLUMNS[:6])
    whole = [ID_COLUMN, SEX_COLUMN, *ATTRIBUTE_COLUMNS, *STATUS_COLUMNS, LABEL_COLUMN]
    require(source, (numeric[whole] != numeric[whole].round()).any(axis=1), path,
            "ID, X2..X11 and Y must be whole numbers", whole)
    require(source, numeric[ID_COLUMN].duplicated(keep=False), path,
            "ID must be unique", [ID_COLUMN])
    require(source, ((numeric[list(STATUS_COLUMNS)] < -2)
                     | (numeric[list(STATUS_COLUMNS)] > 9)).any(axis=1), path,
            "repayment statuses X6..X11 must be in -2..9", [ID_COLUMN, *STATUS_COLUMNS])
    require(source, (numeric[list(PAYMENT_COLUMNS)] < 0).any(axis=1), path,
            "payments X18..X23 must not be negative", [ID_COLUMN, *PAYMENT_COLUMNS])
    require(source, numeric[LIMIT_COLUMN] < 0, path, "the credit limit X1 must not be negative",
            [ID_COLUMN, LIMIT_COLUMN])
    require(source, ~numeric[LABEL_COLUMN].isin([0, 1]), path, "Y must be 0 or 1",
            [ID_COLUMN, LABEL_COLUMN])


@dataclass(frozen=True)
class _BuiltEvents:
    bills: pd.DataFrame
    repayments: pd.DataFrame
    counts: Counter
    """What the reconstruction adjusted, by kind (for the report)."""


def _build_events(
    customer_ids: np.ndarray,
    limits: np.ndarray,
    amounts: np.ndarray,
    payments: np.ndarray,
    months_late: np.ndarray,
) -> _BuiltEvents:
    """Bills with reconstructed minimums and repayments dated and allocated so that the derived
    days past due follow ``months_late``."""
    bill_customer: list[int] = []
    bill_month: list[int] = []
    bill_amount: list[float] = []
    bill_minimum: list[float] = []
    bill_limit: list[float] = []
    pay_customer: list[int] = []
    pay_instant: list[tuple[int, int]] = []
    pay_bill_index: list[int] = []   # position in the bill lists
    pay_amount: list[float] = []
    counts: Counter = Counter()

    for row in range(len(customer_ids)):
        plan = _CustomerPlan(months_late[row].tolist(), amounts[row].tolist(),
                             payments[row].tolist(), counts)
        customer = int(customer_ids[row])
        base = len(bill_customer)
        for bill, month, day, share in plan.allocations:
            pay_customer.append(customer)
            pay_instant.append((month, day))
            pay_bill_index.append(base + bill - plan.first)
            pay_amount.append(share)
        for bill in plan.bills:
            bill_customer.append(customer)
            bill_month.append(bill)
            bill_amount.append(plan.amount[bill])
            bill_minimum.append(plan.minimum_due(bill))
            bill_limit.append(float(limits[row]))

    bill_ids = np.arange(1, len(bill_customer) + 1, dtype=np.int64)
    statements = {m: statement_date(m) for m in set(bill_month)}
    dues = {m: due_date(m) for m in set(bill_month)}
    bills = contract_frame("bills", {
        "bill_id": bill_ids,
        "customer_id": np.asarray(bill_customer, dtype=np.int64),
        "statement_date": [statements[m] for m in bill_month],
        "due_date": [dues[m] for m in bill_month],
        "amount_due": bill_amount,
        "minimum_due": bill_minimum,
        "credit_limit": bill_limit,
    })
    instants = {key: _instant(*key) for key in set(pay_instant)}
    repayments = contract_frame("repayments", {
        "repayment_id": np.arange(1, len(pay_customer) + 1, dtype=np.int64),
        "customer_id": np.asarray(pay_customer, dtype=np.int64),
        "bill_id": bill_ids[np.asarray(pay_bill_index, dtype=np.int64)],
        "repaid_at": [instants[key] for key in pay_instant],
        "amount": pay_amount,
    })
    return _BuiltEvents(bills, repayments, counts)


def _key(month: int, day: int) -> int:
    """A sortable integer for an instant of the calendar (month index, day of month)."""
    return month * 100 + day


class _CustomerPlan:
    """One customer's statements, payment dates, allocations and minimums.

    ``frontier[m]`` is the oldest statement that must still be unpaid at the status date of month
    m (every older one paid); when the customer is current it is the statement falling due at that
    instant. A statement that is the frontier of a delinquent month is *held* (unpaid at that
    status date); once the frontier moves past it, it has a *deadline* (paid before that status
    date).
    """

    def __init__(self, late: list[int], amount_row: list[float], payment_row: list[float],
                 counts: Counter) -> None:
        self.counts = counts
        frontier = [month - 1 - late[month] for month in range(N_MONTHS)]
        self.hold: dict[int, int] = {}
        for month in range(N_MONTHS):
            if late[month] >= 1:
                self.hold[frontier[month]] = _key(month, DUE_DAY)
        first = min([*self.hold, -1 if payment_row[0] > 0 else 0, 0])
        self.first = first
        self.bills = list(range(first, N_MONTHS))
        self.deadline: dict[int, int] = {}
        for month in range(N_MONTHS):
            for bill in range(first, frontier[month]):
                self.deadline.setdefault(bill, _key(month, DUE_DAY))
        if first < 0:
            counts["opening_statements"] += -first
            counts["customers_with_opening_statements"] += 1
            if first == -1 and -1 not in self.hold:
                counts["customers_with_march_statement_for_april_payment_only"] += 1
        self.amount = {b: (amount_row[b] if b >= 0 else amount_row[0]) for b in self.bills}
        self.reference = {b: round(REFERENCE_MINIMUM_RATE * max(self.amount[b], 0.0), 2)
                          for b in self.bills}
        for bill in self.hold:
            if self.amount[bill] <= 0:
                counts["overdue_statements_without_positive_balance"] += 1
        self.paid = dict.fromkeys(self.bills, 0.0)
        self.allocations: list[tuple[int, int, int, float]] = []   # bill, month, day, amount
        self._pay(payment_row)

    def _pay(self, payment_row: list[float]) -> None:
        # A held statement must be settled between its last hold and its deadline: by the next
        # month's payment dated before that status date if there is one, else by this month's
        # payment dated after it.
        early_settles: set[int] = set()
        late_settles: set[int] = set()
        for bill, hold in self.hold.items():
            if bill in self.deadline:
                month = hold // 100
                if payment_row[month + 1] > 0:
                    early_settles.add(month + 1)
                else:
                    late_settles.add(month)
        for month, total in enumerate(payment_row):
            if total <= 0:
                continue
            early = _key(month, EARLY_PAYMENT_DAY)
            if month not in late_settles:
                parts = [(EARLY_PAYMENT_DAY, total)]
            elif month in early_settles or self._owing_before(_key(month, DUE_DAY), early):
                half = round(total / 2, 2)
                parts = [(EARLY_PAYMENT_DAY, half), (LATE_PAYMENT_DAY, round(total - half, 2))]
                self.counts["payments_split_around_status_date"] += 1
            else:
                parts = [(LATE_PAYMENT_DAY, total)]
                self.counts["payments_dated_after_status_date"] += 1
            for day, amount in parts:
                shares = self._allocate(_key(month, day), amount)
                if len(shares) > 1:
                    self.counts["payment_parts_split_over_statements"] += 1
                for bill, share in shares:
                    self.paid[bill] = round(self.paid[bill] + share, 2)
                    self.allocations.append((bill, month, day, share))

    def _owing_before(self, deadline: int, instant: int) -> bool:
        """Whether a statement due to be paid by ``deadline`` still lacks its reference minimum."""
        return any(
            self.deadline.get(bill) == deadline and self.paid[bill] < self.reference[bill]
            and _key(bill, STATEMENT_DAY) <= instant
            for bill in self.bills
        )

    def _allocate(self, instant: int, amount: float) -> list[tuple[int, float]]:
        """Oldest first over the statements that may be paid at ``instant``, each up to its
        reference minimum; the newest of them takes what is left. A statement that received a
        payment by its due date and is not overdue takes no more (what it received was its minimum).
        Held statements (to stay unpaid at a later status date) only take a part payment when
        nothing else can."""
        issued = [b for b in self.bills if _key(b, STATEMENT_DAY) <= instant]
        open_bills = [b for b in issued if self.deadline.get(b, 1 << 30) > instant]
        payable = [b for b in open_bills if self.hold.get(b, -1) < instant]
        if not payable:
            self.counts["part_payments_of_overdue_statements"] += 1
            return [(open_bills[0], round(amount, 2))]
        remaining = round(amount, 2)
        shares: dict[int, float] = {}
        for bill in payable:
            need = max(round(self.reference[bill] - self.paid[bill], 2), 0.0)
            if bill in self.hold:
                if need <= 0 and not self._paid_since_hold(bill):
                    need = max(round(amount / len(payable), 2), 0.01)
            elif self.paid[bill] > 0 and _key(bill + 1, DUE_DAY) <= instant:
                need = 0.0     # paid something by its due date: that was its minimum
            share = round(min(remaining, need), 2)
            if share > 0:
                shares[bill] = share
                remaining = round(remaining - share, 2)
            if remaining <= 0:
                break
        if remaining > 0:
            newest = payable[-1]
            shares[newest] = round(shares.get(newest, 0.0) + remaining, 2)
        return list(shares.items())

    def _paid_since_hold(self, bill: int) -> bool:
        hold = self.hold[bill]
        return any(b == bill and _key(month, day) > hold
                   for b, month, day, _ in self.allocations)

    def _paid_before(self, bill: int, instant: int) -> float:
        return round(sum(share for b, month, day, share in self.allocations
                         if b == bill and _key(month, day) < instant), 2)

    def minimum_due(self, bill: int) -> float:
        """The minimum closest to the reference that makes the statement paid when the rebuilt
        status says: after its last hold, before its deadline."""
        reference = self.reference[bill]
        hold, deadline = self.hold.get(bill), self.deadline.get(bill)
        low = self._paid_before(bill, hold) if hold is not None else None
        high = self._paid_before(bill, deadline) if deadline is not None else None
        if high is not None:
            if low is not None and high <= low:
                raise RuntimeError(f"internal error: statement {bill} cannot be settled in time")
            if high <= 0:                        # status current, but no payment to settle it
                if reference > 0:
                    self.counts["minimum_zero_settled_without_payment"] += 1
                return 0.0
            if reference > high:
                self.counts["minimum_lowered_to_amount_paid"] += 1
                return high
            if low is not None and reference <= low:
                self.counts["minimum_raised_to_keep_unpaid"] += 1
                return high
            return reference
        if low is not None and reference <= low:
            self.counts["minimum_raised_to_keep_unpaid"] += 1
            return round(low + UNPAID_MARGIN, 2)
        return reference


def _status_agreement(
    bills: pd.DataFrame,
    repayments: pd.DataFrame,
    source: pd.DataFrame,
    status: np.ndarray,
    months_late: np.ndarray,
) -> np.ndarray:
    """Whether the days past due derived from the written tables at each status date equal the
    source status (customers × months); raises if they differ from the rebuilt sequence."""
    cured = bill_cure_times(bills, repayments)
    customer_ids = source[ID_COLUMN].to_numpy()
    agree = np.zeros(status.shape, dtype=bool)
    for month, status_date in enumerate(STATUS_DATES):
        derived = days_past_due_at(cured, status_date).reindex(customer_ids).fillna(0.0)
        derived = derived.to_numpy()
        table = np.array([expected_days_past_due(k, status_date)
                          for k in range(MAX_MONTHS_LATE + 1)])
        wanted = table[months_late[:, month]]
        if not np.array_equal(derived, wanted):
            wrong = int((derived != wanted).sum())
            raise RuntimeError(
                f"internal error: the written events give other days past due than the "
                f"reconstruction at {status_date.date()} for {wrong} customers"
            )
        agree[:, month] = derived == table[np.clip(status[:, month], 0, None)]
    return agree


def _report(
    path: Path,
    source: pd.DataFrame,
    status: np.ndarray,
    payments: np.ndarray,
    months_late: np.ndarray,
    built: _BuiltEvents,
    tables: dict[str, pd.DataFrame],
    agree: np.ndarray,
) -> tuple[list[str], dict[str, object]]:
    counts = built.counts
    n_customers = len(source)
    customer_months = int(agree.size)
    reproduced = int(agree.sum())
    target = np.clip(status, 0, None)
    paid = payments > 0
    jumps = int((target[:, 1:] > target[:, :-1] + 1).sum())
    unpaid_settlements = int((
        (target[:, :-1] >= 1) & (target[:, 1:] <= target[:, :-1]) & ~paid[:, :-1] & ~paid[:, 1:]
    ).sum())
    changed = Counter(
        (int(a), int(b)) for a, b in zip(status[~agree], months_late[~agree], strict=True)
    )
    per_month = {MONTH_NAMES[m]: round(float(agree[:, m].mean()), 5) for m in range(N_MONTHS)}
    n_bills = len(built.bills)
    n_monthly = n_customers * N_MONTHS
    positive = int(paid.sum())
    zero = int((~paid).sum())
    bad = int(tables["labels"]["is_bad"].sum())
    status_one_early = int((status[:, :-1] == 1).sum())
    status_one_september = int((status[:, -1] == 1).sum())
    raised = counts["minimum_raised_to_keep_unpaid"]

    report = [
        f"read {n_customers:,} rows (card holders) from {path.name}",
        f"customers: {n_customers:,} rows with attr_education (X3), attr_marriage (X4), "
        f"attr_age (X5); signed_up_at is not in the source: placeholder {SIGNED_UP_AT.date()} "
        "for every customer",
        f"left out: SEX (X2) for all {n_customers:,} customers, a protected attribute a credit "
        "model should not use",
        f"bills: {n_bills:,} rows = {n_monthly:,} monthly statements April-September 2005 "
        f"(X17..X12) + {counts['opening_statements']:,} opening statements before April for "
        f"{counts['customers_with_opening_statements']:,} customers, amount unknown: the April "
        f"balance carried back ({counts['customers_with_march_statement_for_april_payment_only']:,}"
        " customers only get a March statement to receive the April payment, the others need "
        "older ones for the arrears their status reports)",
        f"bills.minimum_due is not in the source: {REFERENCE_MINIMUM_RATE:.0%} of a positive "
        "balance, except where the status requires otherwise: "
        f"{counts['minimum_lowered_to_amount_paid']:,} lowered to the amount paid, "
        f"{raised:,} raised to keep an overdue statement unpaid, "
        f"{counts['minimum_zero_settled_without_payment']:,} set to 0 (a positive statement the "
        "status shows settled with no payment to settle it), "
        f"{counts['overdue_statements_without_positive_balance']:,} overdue statements without a "
        "positive balance",
        f"repayments: {len(built.repayments):,} rows from {positive:,} positive monthly payments "
        f"(X23..X18); {zero:,} zero payments create no row; "
        f"{counts['payments_dated_after_status_date']:,} payments dated on the "
        f"{LATE_PAYMENT_DAY}th and {counts['payments_split_around_status_date']:,} split in two "
        f"halves ({EARLY_PAYMENT_DAY}th and {LATE_PAYMENT_DAY}th) to settle an overdue statement "
        f"after a status date; {counts['payment_parts_split_over_statements']:,} payments shared "
        "by several statements",
        f"limit_events: {n_customers:,} initial grants (new_limit = X1); orders: none in the "
        "source (empty table); declines: absent",
        f"labels: {n_customers:,} rows as of {AS_OF.date()}, {bad:,} bad (Y = 1, "
        f"{percent(bad, n_customers)})",
        f"repayment status X11..X6: {reproduced:,} of {customer_months:,} customer-months "
        f"({percent(reproduced, customer_months)}) reproduced exactly by the derived days past "
        f"due; {customer_months - reproduced:,} in {int((~agree).any(axis=1).sum()):,} customers "
        "cannot be, because the source status rises by more than one month in a month "
        f"({jumps:,} times) or shows an overdue statement settled with no payment in the month "
        f"before or after ({unpaid_settlements:,} times)",
        "status changed (source -> rebuilt months late, most frequent): "
        + ", ".join(f"{a} -> {b}: {c:,}" for (a, b), c in changed.most_common(8)),
        f"source oddity: status 1 (one month late) appears {status_one_september:,} times in "
        f"September but only {status_one_early:,} times in April-August",
    ]
    details: dict[str, object] = {
        "source_file": path.name,
        "rows_read": n_customers,
        "as_of": AS_OF.isoformat(),
        "calendar": {
            "statement": f"day {STATEMENT_DAY} of the month",
            "due": f"day {DUE_DAY} of the next month",
            "repayment": f"day {EARLY_PAYMENT_DAY} of the month it is reported in; day "
                         f"{LATE_PAYMENT_DAY} (or half on each) where the status requires",
            "status_read_at": f"day {DUE_DAY} of the month, the due instant of the previous "
                              "statement",
            "signed_up_at_placeholder": SIGNED_UP_AT.isoformat(),
        },
        "row_counts": {name: len(frame) for name, frame in tables.items()},
        "left_out": {"X2 (SEX)": n_customers},
        "zero_payments_without_row": zero,
        "opening_statements": int(counts["opening_statements"]),
        "customers_with_opening_statements": int(counts["customers_with_opening_statements"]),
        "payments_dated_after_status_date": int(counts["payments_dated_after_status_date"]),
        "payments_split_around_status_date": int(counts["payments_split_around_status_date"]),
        "minimum_due": {
            "reference_rate": REFERENCE_MINIMUM_RATE,
            "lowered_to_amount_paid": int(counts["minimum_lowered_to_amount_paid"]),
            "raised_to_keep_unpaid": int(raised),
            "zero_settled_without_payment": int(counts["minimum_zero_settled_without_payment"]),
            "overdue_without_positive_balance":
                int(counts["overdue_statements_without_positive_balance"]),
        },
        "status_reconstruction": {
            "customer_months": customer_months,
            "reproduced": reproduced,
            "agreement": round(reproduced / customer_months, 5) if customer_months else None,
            "agreement_by_month": per_month,
            "source_rises_of_more_than_one_month": jumps,
            "source_settlements_without_payment": unpaid_settlements,
            "changed": {f"{a}->{b}": c for (a, b), c in sorted(changed.items())},
        },
        "labels": {"bad": bad, "bad_rate": round(bad / n_customers, 5) if n_customers else None},
        "assumptions": [
            f"statements on day {STATEMENT_DAY}, due on day {DUE_DAY} of the next month; payments "
            f"on day {EARLY_PAYMENT_DAY} of their month (day {LATE_PAYMENT_DAY}, or half on each, "
            f"where the status requires); statuses read on day {DUE_DAY}",
            "opening statements before April 2005 carry the April balance as amount_due (unknown)",
            f"minimum_due: {REFERENCE_MINIMUM_RATE:.0%} of a positive balance, adjusted to "
            "reproduce the repayment status",
            "payments settle statements oldest first; the newest payable statement takes the rest",
            "signed_up_at and the initial limit grant are a placeholder date",
            "the source label Y (default in October 2005) is the labels table; the event history "
            "cannot observe October",
        ],
    }
    return report, details
