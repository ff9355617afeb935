"""The month step: latent states -> statement -> payments and limit reviews -> order attempts
(before the due date, risk cut, after it) -> bookkeeping.

Vectorised over the customers of a chunk; the only loops are over months and, within a month,
over the rank of an order attempt. How the latent distress state D reaches the events (one cycle
of lag, so that a missed bill always carries something):

* entering distress in month t (D_t=1, D_{t-1}=0): a draw-down takes the whole available limit
  on day 26 or later, after that month's payments, so next month's bill is never empty;
* payments in month t follow D_{t-1} (see :mod:`payments`): a run of j+1 distressed months makes
  the oldest missed bill reach 30*j days past due; a run of 4 reaches 90 days, and the account
  is charged off at that instant (no order, bill or limit event after it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from credit_models.data.simulator.calendar import MICROSECONDS_PER_DAY, HorizonCalendar
from credit_models.data.simulator.config import DUE_DAY, SimulatorConfig
from credit_models.data.simulator.decisions import NOT_DECLINED, Outcome, decide_in_time_order
from credit_models.data.simulator.latent import LatentDynamics, LatentState
from credit_models.data.simulator.ledger import Ledger, round_cents
from credit_models.data.simulator.limit_policy import (
    LIMIT_REASONS,
    LimitReviews,
    RiskCut,
    limit_changes,
    review_limits,
    risk_cut,
)
from credit_models.data.simulator.month import (
    CHARGE_OFF_DAYS_PAST_DUE,
    MONTH_UNIFORMS,
    NEVER,
    NO_MONTH,
    U_DISTRESS,
    U_DRAW_DOWN_TIME,
    U_SHOCK,
    MonthContext,
)
from credit_models.data.simulator.payments import CarriedPayments, PaymentPlan, plan_payments
from credit_models.data.simulator.population import Population, draw_population
from credit_models.data.simulator.randomness import BlockRandom
from credit_models.data.simulator.scheduled_limits import LimitSchedule, ScheduledMonth
from credit_models.data.simulator.spending import OrderAttempts, month_attempts


class EventLog:
    """Columns of each output table, appended month by month as arrays (customer indices as
    int32 and codes as int8 to keep a chunk's history small)."""

    COMPACT: ClassVar[dict[str, type]] = {
        "customer": np.int32, "category": np.int8, "channel": np.int8, "reason": np.int8,
    }

    def __init__(self) -> None:
        self._columns: dict[str, dict[str, list[np.ndarray]]] = defaultdict(
            lambda: defaultdict(list)
        )

    def add(self, table: str, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            values = np.asarray(values)
            if name in self.COMPACT:
                values = values.astype(self.COMPACT[name])
            self._columns[table][name].append(values)

    def pop(self, table: str) -> dict[str, np.ndarray]:
        """A table's columns, handed over (the log forgets them to free memory)."""
        parts = self._columns.pop(table)
        return {name: np.concatenate(parts.pop(name)) for name in list(parts)}


@dataclass
class ChunkHistory:
    population: Population
    log: EventLog


class ChunkSimulation:
    """Simulates the whole history of customers ``[first_customer, first_customer + count)``."""

    def __init__(
        self, config: SimulatorConfig, calendar: HorizonCalendar, first_customer: int, count: int
    ) -> None:
        self.config = config
        self.calendar = calendar
        self.rng = BlockRandom(config.seed, first_customer, count)
        self.population = draw_population(config, calendar, self.rng, first_customer)
        self.dynamics = LatentDynamics(config)
        self.latent = LatentState.empty(count)
        self.ledger = Ledger.open_accounts(self.population.initial_limit)
        self.last_late_month = np.full(count, -NO_MONTH, dtype=np.int64)
        """Month of the latest bill that was past due at some point (for raise eligibility)."""
        self.charged_off = np.zeros(count, dtype=bool)
        self.carried = CarriedPayments.none(count)
        self.log = EventLog()
        self.schedule: LimitSchedule | None = None
        """Limits imposed from a month on in place of the lender's own (a closed loop)."""
        self.finance_charges = np.zeros(count)
        """Interest and instalment fees billed so far: the lender's revenue."""
        self.written_off = np.zeros(count)
        """The balance each charged-off account left: the lender's loss."""

    def run(self) -> ChunkHistory:
        population = self.population
        count = len(population)
        self.log.add(
            "limit_events", customer=np.arange(count), changed_at=population.signed_up_at_us,
            old_limit=np.full(count, np.nan), new_limit=population.initial_limit,
            reason=np.full(count, LIMIT_REASONS.index("initial")),
            expires_at=np.full(count, NEVER),
        )
        self.advance(range(self.config.months))
        return ChunkHistory(population, self.log)

    def advance(self, months: range) -> None:
        """Simulate these months (consecutive, from where the simulation stands)."""
        for month in months:
            self._step(month)

    def _step(self, month: int) -> None:
        context = self._open_month(month)
        config, population, ledger, latent = self.config, self.population, self.ledger, self.latent
        plan = plan_payments(context, population, ledger, latent, self.carried,
                             self.calendar.extraction_us)
        reviews: LimitReviews | ScheduledMonth = review_limits(
            context, config, self.calendar, population, ledger.limit, self.last_late_month
        )
        if self.schedule is not None and self.schedule.applies(month):
            reviews = self.schedule.month(reviews, context.start_us, context.end_us)
        bill_missed = context.billable & (context.minimum_due > 0) & ~plan.paid_before_due
        attempts, outcome, cut = self._decide_orders(context, plan, reviews, bill_missed)

        self._record_orders(attempts, outcome)
        accepted = np.flatnonzero(outcome.accepted)
        ledger.add_purchases(
            attempts.customer[accepted], outcome.amount[accepted],
            attempts.instalment_months[accepted], month, config.instalment_fee_rate,
        )
        for change in limit_changes(reviews.own_reviews, cut, context.due_us):
            size = len(change.customers)
            self.log.add(
                "limit_events", customer=change.customers,
                changed_at=np.full(size, change.changed_us, dtype=np.int64),
                old_limit=change.old_limit, new_limit=change.new_limit,
                reason=np.full(size, LIMIT_REASONS.index(change.reason)),
                expires_at=np.full(size, change.expires_us, dtype=np.int64),
            )
        for customers, slots, amounts, times in plan.rows:
            self.log.add(
                "repayments", customer=customers, month=ledger.bill_month[customers, slots],
                repaid_at=times, amount=amounts,
            )
            ledger.apply_payments(customers, slots, amounts)
        self.carried = plan.carried
        ledger.limit = np.where(cut.applies, cut.new_limit, reviews.permanent_limit)
        late = context.has_overdue | bill_missed
        self.last_late_month = np.where(late, month, self.last_late_month)
        charged_off_now = np.flatnonzero(context.charge_off_us < NEVER)
        if len(charged_off_now):
            self.written_off[charged_off_now] = ledger.outstanding()[charged_off_now]
        self.charged_off[charged_off_now] = True

    def _open_month(self, month: int) -> MonthContext:
        """Step the latent chains, issue the statements and take stock of delinquency."""
        config, calendar, population = self.config, self.calendar, self.population
        ledger, latent = self.ledger, self.latent
        start_us = int(calendar.month_start_us[month])
        end_us = int(calendar.month_start_us[month + 1])
        uniform = self.rng.uniform(MONTH_UNIFORMS)
        latent.step(
            self.dynamics, month, population.risk, population.signup_month,
            population.is_bust_out, population.bust_out_month, uniform[:, [U_SHOCK, U_DISTRESS]],
        )
        signed_up = population.signup_month <= month
        members = np.flatnonzero(signed_up)
        self.log.add(
            "monthly_states", customer=members, month=np.full(len(members), month),
            shock=latent.shock[members], distressed=latent.distress[members],
            run_length=latent.run_length[members],
        )

        open_account = signed_up & ~self.charged_off
        billable = open_account & (population.signed_up_at_us < start_us)
        statement = ledger.issue_statements(
            month, billable, config.monthly_interest_rate, config.minimum_payment_share
        )
        self.finance_charges[statement.customers] += statement.finance_charges
        self.log.add(
            "bills", customer=statement.customers, month=np.full(len(statement.customers), month),
            amount_due=statement.amount_due, minimum_due=statement.minimum_due,
            credit_limit=ledger.limit[statement.customers],
        )
        amount_due = np.zeros(len(population))
        minimum_due = np.zeros(len(population))
        amount_due[statement.customers] = statement.amount_due
        minimum_due[statement.customers] = statement.minimum_due

        overdue = ledger.overdue_bills(month) & open_account[:, None]
        has_overdue = overdue.any(axis=1)
        oldest = np.minimum(np.where(overdue, ledger.bill_month, NO_MONTH).min(axis=1), month)
        oldest_due = calendar.month_start_us[oldest] + (DUE_DAY - 1) * MICROSECONDS_PER_DAY
        charge_off_us = np.where(
            has_overdue & latent.distress_previous,
            oldest_due + CHARGE_OFF_DAYS_PAST_DUE * MICROSECONDS_PER_DAY,
            NEVER,
        )
        return MonthContext(
            month=month,
            start_us=start_us,
            end_us=end_us,
            due_us=start_us + (DUE_DAY - 1) * MICROSECONDS_PER_DAY,
            uniform=uniform,
            open_account=open_account,
            billable=billable,
            amount_due=amount_due,
            minimum_due=minimum_due,
            outstanding=ledger.outstanding(),
            overdue=overdue,
            has_overdue=has_overdue,
            charge_off_us=np.where(charge_off_us < end_us, charge_off_us, NEVER),
        )

    def _decide_orders(
        self,
        context: MonthContext,
        plan: PaymentPlan,
        reviews: LimitReviews | ScheduledMonth,
        bill_missed: np.ndarray,
    ) -> tuple[OrderAttempts, Outcome, RiskCut]:
        """Order attempts of the month, decided in time order: those before the due date, then
        the risk cut at the due date, then those after it. An account is frozen while a bill is
        at least one day past due."""
        population, latent = self.population, self.latent
        # Attempts are drawn for every customer signed up by the month's end, open or not, and
        # those of closed accounts dropped: how many numbers a block draws must not depend on
        # the account's history, or another limit policy would see other random numbers.
        signed_up = population.signup_month <= context.month
        attempts = month_attempts(
            self.config, self.calendar, self.rng, context.month, population, signed_up,
            latent.shock, latent.distress & ~latent.distress_previous & context.open_account,
            context.uniform[:, U_DRAW_DOWN_TIME], credit_limit=self.ledger.limit,
        )
        keep = (
            context.open_account[attempts.customer]
            & (attempts.time_us >= population.signed_up_at_us[attempts.customer])
            & (attempts.time_us < context.charge_off_us[attempts.customer])
        )
        attempts = attempts.take(np.flatnonzero(keep))
        customer, instant = attempts.customer, attempts.time_us
        paid_before = plan.paid_before(customer, instant)
        frozen = (
            context.has_overdue[customer]
            & (instant < plan.delinquency_cleared_at[customer])
        ) | (
            bill_missed[customer]
            & (instant >= context.due_us + MICROSECONDS_PER_DAY)
            & (instant < plan.bill_cleared_at[customer])
        )
        outcome = Outcome.undecided(attempts)
        accepted_total = np.zeros(len(population))
        decide_in_time_order(
            attempts, np.flatnonzero(instant < context.due_us), reviews.limit_at(customer, instant),
            paid_before, frozen, context.outstanding, accepted_total, outcome,
        )
        everyone = np.arange(len(population))
        outstanding_at_due = round_cents(
            context.outstanding + accepted_total
            - plan.paid_before(everyone, np.full(len(everyone), context.due_us))
        )
        cut = risk_cut(context, self.config, reviews, outstanding_at_due, bill_missed)
        limit_after_due = np.where(
            cut.applies[customer], cut.new_limit[customer], reviews.limit_at(customer, instant)
        )
        decide_in_time_order(
            attempts, np.flatnonzero(instant >= context.due_us), limit_after_due, paid_before,
            frozen, context.outstanding, accepted_total, outcome,
        )
        return attempts, outcome, cut

    def _record_orders(self, attempts: OrderAttempts, outcome: Outcome) -> None:
        accepted = np.flatnonzero(outcome.accepted)
        self.log.add(
            "orders", customer=attempts.customer[accepted], ordered_at=attempts.time_us[accepted],
            amount=outcome.amount[accepted], category=attempts.category[accepted],
            channel=attempts.channel[accepted], is_promotion=attempts.is_promotion[accepted],
            instalment_months=attempts.instalment_months[accepted],
        )
        declined = np.flatnonzero(outcome.declined_reason != NOT_DECLINED)
        self.log.add(
            "declines", customer=attempts.customer[declined],
            declined_at=attempts.time_us[declined], amount=outcome.amount[declined],
            reason=outcome.declined_reason[declined],
            available_limit=outcome.available[declined], category=attempts.category[declined],
        )
