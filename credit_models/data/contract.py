"""The event-data contract: the tables every stage reads, declared once as data.

Everything downstream (validation, the simulator, the adapters, data/README.md) reads these
declarations, so a column is described in exactly one place. Timestamps are timezone-aware UTC;
amounts are currency units as decimals (float64, two decimals by convention), always finite and
within a plausibility ceiling (:mod:`credit_models.data.plausibility`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sized
from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["int", "float", "string", "bool", "timestamp"]

AMOUNT_UNIT = "currency"
"""The unit of amount columns: finite, and bounded by the plausibility ceiling."""

OUTCOMES_TABLE = "labels"
"""Carries outcomes observed outside the event history; with rows in it, event tables may be
empty or left out (application data has no events to derive outcomes from)."""

ATTRIBUTE_PREFIX = "attr_"
"""Customers may carry any number of application attributes named ``attr_<name>`` (numeric or
string). They are the only extra columns used as static features: declared by name, never guessed."""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: ColumnKind
    description: str
    unit: str = ""
    nullable: bool = False
    unique: bool = False
    minimum: float | None = None
    """Inclusive lower bound for numeric columns (e.g. 0 for amounts that cannot be negative)."""
    allowed: tuple[str, ...] | None = None
    """Closed vocabulary for string columns."""

    @property
    def is_amount(self) -> bool:
        return self.unit == AMOUNT_UNIT


@dataclass(frozen=True)
class ForeignKey:
    column: str
    table: str
    target_column: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    description: str
    key: str
    time_column: str | None
    """The column that dates an event; checked against the extraction date."""
    columns: tuple[ColumnSpec, ...]
    foreign_keys: tuple[ForeignKey, ...] = field(default_factory=tuple)
    required: bool = True
    """The table must be present, unless :meth:`rows_exempt` (then an absent table is read as an
    empty one, see :func:`credit_models.data.io.read_tables`)."""
    empty_allowed_with: str | None = None
    """A required table must have rows, unless this other table of the data set has rows: event
    tables may be empty, or left out, in a data set carrying its outcomes in ``labels``. Optional
    tables may always be empty."""
    allows_attributes: bool = False

    def rows_exempt(self, tables: Mapping[str, Sized]) -> bool:
        """Whether this required table may have no rows (or be absent) beside ``tables``: its
        ``empty_allowed_with`` table is there with rows. The one statement of the rule, used by
        reading (absent → empty) and validation (empty allowed)."""
        exempt_by = self.empty_allowed_with
        return self.required and exempt_by is not None and len(tables.get(exempt_by, ())) > 0

    def column(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


LIMIT_CHANGE_REASONS = (
    "initial",
    "periodic_raise",
    "promotion_raise",
    "promotion_expiry",
    "risk_cut",
    "manual",
)
DECLINE_REASONS = ("insufficient_limit", "risk_rule")

_CUSTOMER_FK = ForeignKey("customer_id", "customers", "customer_id")

CUSTOMERS = TableSpec(
    name="customers",
    description="One row per customer: static attributes known at sign-up.",
    key="customer_id",
    time_column="signed_up_at",
    allows_attributes=True,
    columns=(
        ColumnSpec("customer_id", "int", "Customer identifier (map warehouse ids to int64).",
                   unique=True),
        ColumnSpec("signed_up_at", "timestamp", "When the credit line was opened.", unit="UTC"),
    ),
)

ORDERS = TableSpec(
    name="orders",
    description="Purchases paid with the credit line (approved transactions).",
    key="order_id",
    time_column="ordered_at",
    empty_allowed_with=OUTCOMES_TABLE,
    foreign_keys=(_CUSTOMER_FK,),
    columns=(
        ColumnSpec("order_id", "int", "Order identifier.", unique=True),
        ColumnSpec("customer_id", "int", "Customer who placed the order."),
        ColumnSpec("ordered_at", "timestamp", "When the order was placed.", unit="UTC"),
        ColumnSpec("amount", "float", "Order amount charged to the line.", unit=AMOUNT_UNIT,
                   minimum=0.0),
        ColumnSpec("category", "string", "Merchandise category (e.g. electronics, grocery)."),
        ColumnSpec("channel", "string", "Where the order was placed (e.g. app, web, offline)."),
        ColumnSpec("is_promotion", "bool", "Placed during a promotion campaign (618, Double 11)."),
        ColumnSpec("instalment_months", "int",
                   "Number of monthly instalments; 1 means paid with the next bill.",
                   unit="months", minimum=1),
    ),
)

BILLS = TableSpec(
    name="bills",
    description="Monthly statements: what is owed and by when.",
    key="bill_id",
    time_column="statement_date",
    empty_allowed_with=OUTCOMES_TABLE,
    foreign_keys=(_CUSTOMER_FK,),
    columns=(
        ColumnSpec("bill_id", "int", "Statement identifier.", unique=True),
        ColumnSpec("customer_id", "int", "Customer the statement belongs to."),
        ColumnSpec("statement_date", "timestamp", "When the statement was issued.", unit="UTC"),
        ColumnSpec("due_date", "timestamp",
                   "Payment due date; strictly after the statement date.", unit="UTC"),
        ColumnSpec("amount_due", "float",
                   "Statement balance; negative means a credit balance in the customer's favour.",
                   unit=AMOUNT_UNIT),
        ColumnSpec("minimum_due", "float",
                   "Minimum payment that keeps the account current. Days past due are counted "
                   "from the due date until repayments against this bill reach it.",
                   unit=AMOUNT_UNIT, minimum=0.0),
        ColumnSpec("credit_limit", "float", "Credit limit in force at the statement date.",
                   unit=AMOUNT_UNIT, minimum=0.0, nullable=True),
    ),
)

REPAYMENTS = TableSpec(
    name="repayments",
    description="Payments received, each against one bill.",
    key="repayment_id",
    time_column="repaid_at",
    empty_allowed_with=OUTCOMES_TABLE,
    foreign_keys=(_CUSTOMER_FK, ForeignKey("bill_id", "bills", "bill_id")),
    columns=(
        ColumnSpec("repayment_id", "int", "Repayment identifier.", unique=True),
        ColumnSpec("customer_id", "int", "Customer who paid; must own the bill."),
        ColumnSpec("bill_id", "int", "Statement the payment is allocated to."),
        ColumnSpec("repaid_at", "timestamp",
                   "When the payment was received; not before the bill's statement date.",
                   unit="UTC"),
        ColumnSpec("amount", "float", "Amount paid.", unit=AMOUNT_UNIT, minimum=0.0),
    ),
)

LIMIT_EVENTS = TableSpec(
    name="limit_events",
    description="Every change of a customer's credit limit, the first grant included.",
    key="limit_event_id",
    time_column="changed_at",
    empty_allowed_with=OUTCOMES_TABLE,
    foreign_keys=(_CUSTOMER_FK,),
    columns=(
        ColumnSpec("limit_event_id", "int", "Limit event identifier.", unique=True),
        ColumnSpec("customer_id", "int", "Customer whose limit changed."),
        ColumnSpec("changed_at", "timestamp", "When the new limit took effect.", unit="UTC"),
        ColumnSpec("old_limit", "float", "Limit before the change; empty for the first grant.",
                   unit=AMOUNT_UNIT, minimum=0.0, nullable=True),
        ColumnSpec("new_limit", "float", "Limit after the change.", unit=AMOUNT_UNIT, minimum=0.0),
        ColumnSpec("reason", "string", "Why the limit changed.", allowed=LIMIT_CHANGE_REASONS),
        ColumnSpec("expires_at", "timestamp",
                   "End of a temporary (promotion) limit; empty for permanent changes.",
                   unit="UTC", nullable=True),
    ),
)

DECLINES = TableSpec(
    name="declines",
    description="Transactions the platform refused, and why (optional table).",
    key="decline_id",
    time_column="declined_at",
    foreign_keys=(_CUSTOMER_FK,),
    required=False,
    columns=(
        ColumnSpec("decline_id", "int", "Decline identifier.", unique=True),
        ColumnSpec("customer_id", "int", "Customer whose transaction was refused."),
        ColumnSpec("declined_at", "timestamp", "When the transaction was refused.", unit="UTC"),
        ColumnSpec("amount", "float", "Amount of the refused transaction.", unit=AMOUNT_UNIT,
                   minimum=0.0),
        ColumnSpec("reason", "string", "Why it was refused.", allowed=DECLINE_REASONS),
        ColumnSpec("available_limit", "float",
                   "Unused limit at the time (limit minus outstanding balance).",
                   unit=AMOUNT_UNIT, nullable=True),
        ColumnSpec("category", "string", "Merchandise category of the refused order.",
                   nullable=True),
    ),
)

LABELS = TableSpec(
    name="labels",
    description=(
        "Outcomes observed outside the event history (optional table), for data sets that carry "
        "a ready-made label instead of repayment events, such as application data."
    ),
    key="customer_id",
    time_column=None,
    foreign_keys=(_CUSTOMER_FK,),
    required=False,
    columns=(
        ColumnSpec("customer_id", "int", "Customer the outcome belongs to.", unique=True),
        ColumnSpec("as_of", "timestamp", "Observation date the outcome refers to.", unit="UTC"),
        ColumnSpec("is_bad", "bool", "True when the customer defaulted in the outcome window."),
    ),
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (CUSTOMERS, ORDERS, BILLS, REPAYMENTS, LIMIT_EVENTS, DECLINES, LABELS)
}
REQUIRED_TABLES = tuple(name for name, spec in TABLES.items() if spec.required)
