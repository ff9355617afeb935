"""Domain error types: each carries what a user needs to find and fix the problem."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class ContractViolation:
    """One broken rule: where, which rule, how many rows, and a few of them."""

    table: str
    column: str | None
    rule: str
    count: int
    examples: pd.DataFrame = field(default_factory=pd.DataFrame)

    def describe(self, max_examples: int = 5) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        lines = [f"[{where}] {self.rule}: {self.count} row(s)"]
        if not self.examples.empty:
            shown = self.examples.head(max_examples).to_string(index=False, max_colwidth=40)
            lines.extend("    " + line for line in shown.splitlines())
        return "\n".join(lines)


class DataContractError(ValueError):
    """Input data break the event-data contract; every violation found is listed, not just the
    first."""

    def __init__(self, violations: list[ContractViolation]) -> None:
        self.violations = violations
        summary = f"{len(violations)} data contract violation(s):"
        super().__init__("\n".join([summary, *(v.describe() for v in violations)]))


class ConfigError(ValueError):
    """A configuration value breaks a rule; the message names the key, the rule and the value."""


class TrainingDataError(ValueError):
    """The assembled training data cannot support a sound model (e.g. one class, empty period)."""


class DatasetReadError(ValueError):
    """A data set folder cannot be read as it stands (an unreadable table file, a malformed
    manifest, one table stored twice); the message names the file, what is wrong and the fix."""


class OutputFolderError(ConfigError):
    """A job was pointed at a folder holding files the toolkit did not write there; it refuses to
    replace them, and nothing was changed."""
