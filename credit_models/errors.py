"""Domain error types: each carries what a user needs to find and fix the problem.

The errors the job runner turns into an exit code live here, so that it catches them without
loading the stack (MLflow, the model libraries) that raises them."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

import pandas as pd

E = TypeVar("E", bound=Enum)


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


def enum_choice(kind: type[E], value: Any, key: str) -> E:
    """``value`` (a member or its text, as YAML and callers give it) as a member of the enum
    ``kind``; anything else is a ConfigError naming ``key`` and the valid choices."""
    if isinstance(value, kind):
        return value
    choices = [member.value for member in kind]
    if value not in choices:
        raise ConfigError(f"{key} must be one of {choices}; got {value!r}")
    return kind(value)


class TrainingDataError(ValueError):
    """The assembled training data cannot support a sound model (e.g. one class, empty period)."""


class DatasetReadError(ValueError):
    """A data set folder cannot be read as it stands (an unreadable table file, a malformed
    manifest, one table stored twice); the message names the file, what is wrong and the fix."""


class OutputFolderError(ConfigError):
    """A job was pointed at a folder holding files the toolkit did not write there; it refuses to
    replace them, and nothing was changed."""


class ClusterError(ConfigError):
    """The configured Dask cluster cannot take the work (no scheduler answers, or a worker has
    too little memory for one partition); raised before any work, naming the setting to change."""


class RegistryError(LookupError):
    """A model reference does not resolve, or the registry cannot be changed as asked; the message
    names what is missing and what exists."""


class TrackingStoreError(RuntimeError):
    """The MLflow store cannot be used: the message names it, what is wrong and how to recover."""


class JobInterrupted(BaseException):
    """A termination signal arrived; raised in the main thread so that every ``with`` block
    (open runs, scratch folders, partial files) unwinds. A BaseException, like
    KeyboardInterrupt, so that no ``except Exception`` swallows it."""

    def __init__(self, signal_number: int, open_runs: list[str]) -> None:
        self.signal_number = signal_number
        self.open_runs = open_runs
        super().__init__(f"interrupted by {signal.Signals(signal_number).name}")

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number."""
        return 128 + self.signal_number
