"""Validation of a data set against the event-data contract.

Every rule is checked and every violation collected (never stop at the first), so one run tells a
user everything to fix. A required table must have rows (event tables may be empty only beside a
``labels`` table with rows; there they may also be absent: the tables are judged as
:func:`~credit_models.data.io.read_tables` gives them, with such a table empty, reported as a note,
not a violation). Per-table rules (dtypes, nulls, uniqueness, bounds, vocabularies, finite
numbers, plausibility ceilings on amounts) run through pandera schemas built from the contract
declarations; rules that span tables (foreign keys, a repayment's customer owning its bill, dates in
order, nothing after the extraction date) are checked here. Nothing is cast or dropped: the frames
are only read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandas.api import types as ptypes

from credit_models.data.contract import (
    ATTRIBUTE_PREFIX,
    REQUIRED_TABLES,
    TABLES,
    ColumnSpec,
    TableSpec,
)
from credit_models.data.io import complete_tables, was_absent
from credit_models.data.plausibility import PlausibilityConfig
from credit_models.errors import ContractViolation, DataContractError

logger = logging.getLogger(__name__)

EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class ValidationReport:
    violations: list[ContractViolation]
    ignored_columns: dict[str, list[str]]
    """Columns present in the data but unknown to the contract: reported, never used."""
    row_counts: dict[str, int]
    notes: list[str] = field(default_factory=list)
    """Information that is not a violation, such as an absent table read as empty."""

    @property
    def ok(self) -> bool:
        return not self.violations

    def describe(self) -> str:
        lines = [f"{name}: {count:,} rows" for name, count in self.row_counts.items()]
        lines.extend(self.notes)
        for table, columns in self.ignored_columns.items():
            lines.append(f"{table}: ignored columns not in the contract: {', '.join(columns)}")
        if self.violations:
            lines.append(f"{len(self.violations)} violation(s):")
            lines.extend(violation.describe() for violation in self.violations)
        else:
            lines.append("no violations")
        return "\n".join(lines)


def validate_tables(
    tables: Mapping[str, pd.DataFrame],
    extraction_date: pd.Timestamp | None,
    plausibility: PlausibilityConfig | None = None,
) -> ValidationReport:
    """Check every rule of the contract; return all violations found (and a note naming any event
    table absent beside ``labels`` with rows, judged as empty). ``plausibility`` sets the
    ceilings on amounts (default: :data:`~credit_models.data.plausibility.DEFAULT_AMOUNT_CEILING`);
    a bad ceiling raises :class:`~credit_models.errors.ConfigError` before any table is read."""
    plausibility = plausibility or PlausibilityConfig()
    plausibility.check()
    # Judged as read: an event table left out of application data is an empty table, noted.
    tables = complete_tables(tables)
    violations: list[ContractViolation] = []
    ignored: dict[str, list[str]] = {}
    for name in REQUIRED_TABLES:
        if name not in tables:
            violations.append(ContractViolation(name, None, _missing_rule(TABLES[name]), 0))
    notes = _absent_notes(tables)
    for note in notes:
        logger.info(note)
    empty = _empty_tables(tables)
    violations.extend(empty)
    for name, frame in tables.items():
        if name not in TABLES:
            violations.append(
                ContractViolation(name, None, f"unknown table; the contract knows {sorted(TABLES)}",
                                  len(frame))
            )
            continue
        spec = TABLES[name]
        extra = _unknown_columns(frame, spec)
        if extra:
            ignored[name] = extra
            logger.warning("table %s: ignoring columns not in the contract: %s", name, extra)
        violations.extend(_check_table(frame, spec, plausibility))
    # Cross-table rules run on well-typed tables only: on a broken table they would repeat its
    # errors in a more confusing form; references to a table reported empty would only repeat
    # that it is empty.
    well_typed = {n: f for n, f in tables.items() if n in TABLES and _well_typed(f, TABLES[n])}
    violations.extend(
        _check_relations(well_typed, extraction_date, {v.table for v in empty})
    )
    return ValidationReport(
        violations=violations,
        ignored_columns=ignored,
        row_counts={name: len(frame) for name, frame in tables.items()},
        notes=notes,
    )


def check_tables(
    tables: Mapping[str, pd.DataFrame],
    extraction_date: pd.Timestamp | None,
    plausibility: PlausibilityConfig | None = None,
) -> ValidationReport:
    """Validate and raise :class:`DataContractError` listing every violation."""
    report = validate_tables(tables, extraction_date, plausibility)
    if not report.ok:
        raise DataContractError(report.violations)
    return report


def _absent_notes(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """One line naming the tables reading made up as empty (:func:`~credit_models.data.io.
    read_tables`): not a violation, but a reader of the report must not take them for files."""
    absent = [name for name, frame in tables.items() if name in TABLES and was_absent(frame)]
    if not absent:
        return []
    outcomes = sorted({str(TABLES[name].empty_allowed_with) for name in absent})
    plural = "s" if len(absent) > 1 else ""
    note = (f"{', '.join(absent)}: absent, read as empty table{plural} (the data set carries its "
            f"outcomes in {', '.join(outcomes)}: application data without an event history)")
    return [note]


def _missing_rule(spec: TableSpec) -> str:
    if spec.empty_allowed_with is None:
        return "required table is missing"
    return (
        "required table is missing; it may be left out only in a data set that carries its "
        f"outcomes in a {spec.empty_allowed_with} table with rows (application data), where "
        "reading treats it as empty"
    )


def _empty_tables(tables: Mapping[str, pd.DataFrame]) -> list[ContractViolation]:
    """A required table with no rows: an extract that lost its rows, which would otherwise
    train on nothing (no orders) or fail later as a flood of foreign-key errors (no customers)."""
    found = []
    for name in REQUIRED_TABLES:
        frame = tables.get(name)
        if frame is None or len(frame):
            continue
        if TABLES[name].rows_exempt(tables):
            continue
        exempt_by = TABLES[name].empty_allowed_with
        if exempt_by is None:
            rule = "table is empty (0 rows); it must have rows: export the table again"
        else:
            rule = (
                "table is empty (0 rows); a required table must have rows: export it again "
                f"(only a data set that carries its outcomes in a {exempt_by} table with rows, "
                "such as application data, may leave its event tables empty)"
            )
        found.append(ContractViolation(name, None, rule, 0))
    return found


def _unknown_columns(frame: pd.DataFrame, spec: TableSpec) -> list[str]:
    known = set(spec.column_names)
    return [
        str(column)
        for column in frame.columns
        if column not in known
        and not (spec.allows_attributes and str(column).startswith(ATTRIBUTE_PREFIX))
    ]


def _dtype_problem(series: pd.Series, column: ColumnSpec) -> str | None:
    dtype = series.dtype
    kind = column.kind
    if kind == "int":
        ok = ptypes.is_integer_dtype(dtype) and not ptypes.is_bool_dtype(dtype)
        expected = "integer (int64, or Int64 where nullable)"
    elif kind == "float":
        ok = ptypes.is_float_dtype(dtype) or (
            ptypes.is_integer_dtype(dtype) and not ptypes.is_bool_dtype(dtype)
        )
        expected = "numeric (float64)"
    elif kind == "bool":
        ok = ptypes.is_bool_dtype(dtype)
        expected = "boolean"
    elif kind == "string":
        ok = ptypes.is_string_dtype(dtype) and _holds_only_strings(series)
        expected = "string"
    else:
        ok = isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC"
        expected = "timestamp with time zone UTC (datetime64[..., UTC])"
    if ok:
        return None
    return f"dtype must be {expected}; got {dtype}"


def _holds_only_strings(series: pd.Series) -> bool:
    if series.dtype != object:
        return True
    values = series.dropna()
    return bool(values.map(lambda value: isinstance(value, str)).all())


def _well_typed(frame: pd.DataFrame, spec: TableSpec) -> bool:
    return all(
        column.name in frame.columns and _dtype_problem(frame[column.name], column) is None
        for column in spec.columns
    )


def _example_columns(frame: pd.DataFrame, spec: TableSpec, column: str | None) -> list[str]:
    names = [spec.key]
    if column and column not in names:
        names.append(column)
    if spec.time_column and spec.time_column not in names:
        names.append(spec.time_column)
    return [name for name in names if name in frame.columns]


def _check_table(
    frame: pd.DataFrame, spec: TableSpec, plausibility: PlausibilityConfig
) -> list[ContractViolation]:
    violations: list[ContractViolation] = []
    schema_columns: dict[str, pa.Column] = {}
    for column in spec.columns:
        if column.name not in frame.columns:
            violations.append(
                ContractViolation(spec.name, column.name, "required column is missing", len(frame))
            )
            continue
        problem = _dtype_problem(frame[column.name], column)
        if problem:
            violations.append(
                ContractViolation(
                    spec.name, column.name, problem, len(frame),
                    frame[_example_columns(frame, spec, column.name)].head(EXAMPLE_ROWS),
                )
            )
            continue
        schema_columns[column.name] = _schema_column(column, spec, plausibility)
    attribute_columns = [
        c for c in frame.columns if spec.allows_attributes and str(c).startswith(ATTRIBUTE_PREFIX)
    ]
    for name in attribute_columns:
        series = frame[name]
        if _is_number(series):
            # An application attribute such as income: finite and plausible like an amount.
            schema_columns[str(name)] = pa.Column(
                dtype=None, nullable=True, coerce=False,
                checks=_finite_checks(
                    spec.name, str(name), plausibility.ceiling_for(spec.name, str(name))
                ),
            )
        elif not (ptypes.is_string_dtype(series.dtype)
                  or isinstance(series.dtype, pd.CategoricalDtype)):
            violations.append(
                ContractViolation(spec.name, str(name),
                                  f"attribute dtype must be numeric or string; got {series.dtype}",
                                  len(frame))
            )
    if not schema_columns:
        return violations
    schema = pa.DataFrameSchema(schema_columns, strict=False, coerce=False)
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        violations.extend(_violations_from_pandera(errors.failure_cases, frame, spec))
    return violations


def _is_number(series: pd.Series) -> bool:
    return ptypes.is_numeric_dtype(series.dtype) and not ptypes.is_bool_dtype(series.dtype)


def _finite_checks(table: str, column: str, ceiling: float | None) -> list[pa.Check]:
    """±inf is never a value (NaN is checked as a null); beyond ``ceiling`` a number is absurd.
    Each non-finite value fails the first check only."""
    checks = [pa.Check(lambda values: ~np.isinf(values), error="must be finite, not ±inf")]
    if ceiling is not None:
        checks.append(pa.Check(
            lambda values: np.isinf(values) | (values.abs() <= ceiling),
            error=(f"must be within ±{ceiling:g} (plausibility ceiling; for a currency of small "
                   "units raise data.plausibility.amount_ceiling or "
                   f"data.plausibility.ceilings.{table}.{column})"),
        ))
    return checks


def _schema_column(
    column: ColumnSpec, spec: TableSpec, plausibility: PlausibilityConfig
) -> pa.Column:
    checks = []
    if column.kind == "float":
        ceiling = plausibility.ceiling_for(spec.name, column.name) if column.is_amount else None
        checks.extend(_finite_checks(spec.name, column.name, ceiling))
    if column.minimum is not None:
        checks.append(pa.Check.ge(column.minimum, error=f"must be >= {column.minimum:g}"))
    if column.allowed is not None:
        checks.append(
            pa.Check.isin(list(column.allowed), error=f"must be one of {list(column.allowed)}")
        )
    return pa.Column(
        dtype=None, checks=checks, nullable=column.nullable, unique=column.unique, coerce=False
    )


def _rule_text(check: str) -> str:
    if check == "not_nullable":
        return "must not be empty (null)"
    if check == "field_uniqueness":
        return "must be unique (duplicate key)"
    return check


def _violations_from_pandera(
    failures: pd.DataFrame, frame: pd.DataFrame, spec: TableSpec
) -> list[ContractViolation]:
    violations = []
    for (column, check), group in failures.groupby(["column", "check"], sort=False):
        rows = pd.to_numeric(group["index"], errors="coerce").dropna().astype("int64").unique()
        examples = frame.iloc[rows[:EXAMPLE_ROWS]][_example_columns(frame, spec, str(column))]
        violations.append(
            ContractViolation(spec.name, str(column), _rule_text(str(check)), len(rows), examples)
        )
    return violations


def _violation_from_mask(
    frame: pd.DataFrame, mask: pd.Series, spec: TableSpec, column: str, rule: str,
    extra_columns: list[str] | None = None,
) -> ContractViolation | None:
    count = int(mask.sum())
    if count == 0:
        return None
    names = _example_columns(frame, spec, column) + [
        c for c in (extra_columns or []) if c in frame.columns
    ]
    names = list(dict.fromkeys(names))
    return ContractViolation(spec.name, column, rule, count, frame.loc[mask, names].head(EXAMPLE_ROWS))


def _check_relations(
    tables: Mapping[str, pd.DataFrame], extraction_date: pd.Timestamp | None,
    reported_empty: set[str],
) -> list[ContractViolation]:
    found: list[ContractViolation | None] = []
    for name, frame in tables.items():
        spec = TABLES[name]
        for foreign_key in spec.foreign_keys:
            target = tables.get(foreign_key.table)
            if target is None or foreign_key.table in reported_empty:
                continue
            mask = ~frame[foreign_key.column].isin(target[foreign_key.target_column])
            found.append(
                _violation_from_mask(
                    frame, mask, spec, foreign_key.column,
                    f"must reference an existing {foreign_key.table}.{foreign_key.target_column}",
                )
            )
        if extraction_date is not None and spec.time_column:
            mask = frame[spec.time_column] >= extraction_date
            found.append(
                _violation_from_mask(
                    frame, mask, spec, spec.time_column,
                    f"event at or after the extraction date {extraction_date.isoformat()}",
                )
            )
    bills = tables.get("bills")
    if bills is not None:
        found.append(
            _violation_from_mask(
                bills, bills["due_date"] <= bills["statement_date"], TABLES["bills"], "due_date",
                "due date must be after the statement date", ["statement_date"],
            )
        )
    repayments = tables.get("repayments")
    if bills is not None and repayments is not None:
        joined = repayments.merge(
            bills[["bill_id", "customer_id", "statement_date"]]
            .drop_duplicates("bill_id")
            .rename(
                columns={"customer_id": "bill_customer_id"}
            ),
            on="bill_id", how="left", validate="many_to_one",
        )
        joined.index = repayments.index
        known_bill = joined["bill_customer_id"].notna()
        found.append(
            _violation_from_mask(
                joined, known_bill & (joined["customer_id"] != joined["bill_customer_id"]),
                TABLES["repayments"], "customer_id",
                "must be the customer who owns the bill", ["bill_id", "bill_customer_id"],
            )
        )
        found.append(
            _violation_from_mask(
                joined, known_bill & (joined["repaid_at"] < joined["statement_date"]),
                TABLES["repayments"], "repaid_at",
                "must not be before the bill's statement date", ["bill_id", "statement_date"],
            )
        )
    return [violation for violation in found if violation is not None]
