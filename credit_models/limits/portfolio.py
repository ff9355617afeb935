"""The policy's input: one row per customer with the scores and account facts a decision needs.

Columns (index: customer_id):

* ``pd`` — calibrated probability of default over the label's performance window;
* ``capacity_q50``, ``capacity_q90`` … — the capacity model's quantiles of peak monthly demand;
* ``current_limit`` (0 = no line yet), ``balance`` (outstanding now);
* ``months_since_delinquency``, ``months_since_raise`` — NaN when it never happened.

Checked once here, so the policy's arithmetic never meets a NaN PD or a negative limit.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from credit_models.errors import ContractViolation, DataContractError

ACCOUNT_COLUMNS = ("pd", "current_limit", "balance", "months_since_delinquency",
                   "months_since_raise")
TABLE = "limit portfolio"


def check_portfolio(portfolio: pd.DataFrame, quantile_columns: Sequence[str]) -> pd.DataFrame:
    """The portfolio, unchanged, or every broken rule at once with a few offending rows."""
    missing = [c for c in (*ACCOUNT_COLUMNS, *quantile_columns) if c not in portfolio.columns]
    if missing:
        raise DataContractError([ContractViolation(
            TABLE, ", ".join(missing), f"missing column(s); it has {list(portfolio.columns)}", 1)])
    rules = {
        "pd": (portfolio["pd"].between(0.0, 1.0), "must be a probability in [0, 1]"),
        "current_limit": (portfolio["current_limit"].ge(0), "must be >= 0 (0 = no line)"),
        "balance": (portfolio["balance"].notna(), "must not be missing"),
        **{column: (portfolio[column].ge(0), "must be >= 0 (a predicted spend)")
           for column in quantile_columns},
    }
    violations = []
    for column, (ok, rule) in rules.items():
        bad = ~ok.fillna(False).astype(bool)
        if bad.any():
            examples = portfolio.loc[bad, [column]].head(5).reset_index()
            violations.append(ContractViolation(TABLE, column, rule, int(bad.sum()), examples))
    if violations:
        raise DataContractError(violations)
    return portfolio
