"""Plausibility ceilings: the largest magnitude an amount may have before it is refused as absurd.

A value such as 1e300 is a float like any other, but no consumer-credit order, bill or limit is
that large: it is an export or unit error (cents read as units, a sentinel, an overflow), and one
of them silently spoils every window sum it enters. Validation refuses any amount (a contract
column measured in currency) and any numeric application attribute (``attr_*``) whose magnitude
exceeds its ceiling. The default suits currencies whose unit is worth about a dollar or a yuan; a
data set in a currency of small units raises it, for all amounts or column by column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from credit_models.data.contract import ATTRIBUTE_PREFIX, TABLES
from credit_models.errors import ConfigError

DEFAULT_AMOUNT_CEILING = 1e9
"""Currency units: a billion, far above any single consumer-credit amount, far below 1e15 where
float64 sums of cents stop being exact."""


@dataclass
class PlausibilityConfig:
    """Ceilings on |value|, checked by validation (``data.plausibility`` in the job configs)."""

    amount_ceiling: float = DEFAULT_AMOUNT_CEILING
    """For every amount column and numeric attribute without a ceiling of its own."""
    ceilings: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per column, ``{table: {column: ceiling}}``, e.g. ``{"orders": {"amount": 5.0e10}}`` or
    ``{"customers": {"attr_income": 1.0e10}}``."""

    def check(self) -> None:
        """Reject a ceiling that is not a positive number or names an unknown column."""
        _check_ceiling("data.plausibility.amount_ceiling", self.amount_ceiling)
        for table, columns in self.ceilings.items():
            if table not in TABLES:
                raise ConfigError(
                    f"data.plausibility.ceilings names the unknown table {table!r}; valid "
                    f"tables: {sorted(TABLES)}"
                )
            valid = bounded_columns(table)
            for column, ceiling in columns.items():
                is_attribute = TABLES[table].allows_attributes and column.startswith(
                    ATTRIBUTE_PREFIX)
                if column not in valid and not is_attribute:
                    attributes = (f", or any {ATTRIBUTE_PREFIX}<name> attribute"
                                  if TABLES[table].allows_attributes else "")
                    raise ConfigError(
                        f"data.plausibility.ceilings.{table} names {column!r}, which has no "
                        f"ceiling; valid columns: {valid}{attributes}"
                    )
                _check_ceiling(f"data.plausibility.ceilings.{table}.{column}", ceiling)

    def ceiling_for(self, table: str, column: str) -> float:
        return float(self.ceilings.get(table, {}).get(column, self.amount_ceiling))


def bounded_columns(table: str) -> list[str]:
    """The contract columns of ``table`` that carry a ceiling: its amounts."""
    return [column.name for column in TABLES[table].columns if column.is_amount]


def _check_ceiling(key: str, value: float) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or value <= 0):
        raise ConfigError(
            f"{key} must be a positive finite number of currency units; got {value!r}"
        )
