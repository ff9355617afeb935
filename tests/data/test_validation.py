from __future__ import annotations

import pandas as pd
import pytest

from credit_models.data.validation import check_tables, validate_tables
from credit_models.errors import DataContractError
from tests.portfolio_builder import EXTRACTION_DATE, tiny_tables, utc


def test_tiny_portfolio_is_valid():
    report = validate_tables(tiny_tables(), EXTRACTION_DATE)
    assert report.ok, report.describe()
    assert report.row_counts["orders"] == 4


def test_broken_data_set_reports_every_problem_with_examples():
    tables = tiny_tables()
    tables["orders"].loc[1, "amount"] = -5.0                               # negative amount
    tables["repayments"].loc[3, "bill_id"] = 999                           # orphan repayment
    tables["bills"].loc[1, "bill_id"] = 11                                 # duplicate key
    tables["limit_events"].loc[2, "changed_at"] = utc("2030-01-01")        # event in the future
    tables["customers"]["signed_up_at"] = tables["customers"]["signed_up_at"].astype(str)  # dtype
    tables["orders"]["customer_name"] = "personal data"                    # not in the contract
    report = validate_tables(tables, EXTRACTION_DATE)
    rules = {(v.table, v.column): v for v in report.violations}
    assert rules[("orders", "amount")].count == 1
    assert "must be >= 0" in rules[("orders", "amount")].rule
    assert -5.0 in rules[("orders", "amount")].examples["amount"].tolist()
    assert "existing bills.bill_id" in rules[("repayments", "bill_id")].rule
    assert 999 in rules[("repayments", "bill_id")].examples["bill_id"].tolist()
    assert "unique" in rules[("bills", "bill_id")].rule
    assert rules[("bills", "bill_id")].count == 2
    assert "extraction date" in rules[("limit_events", "changed_at")].rule
    assert "dtype must be timestamp" in rules[("customers", "signed_up_at")].rule
    assert report.ignored_columns == {"orders": ["customer_name"]}
    with pytest.raises(DataContractError) as raised:
        check_tables(tables, EXTRACTION_DATE)
    message = str(raised.value)
    for fragment in ("[orders.amount]", "[repayments.bill_id]", "[bills.bill_id]",
                     "[limit_events.changed_at]", "[customers.signed_up_at]"):
        assert fragment in message


def test_cross_table_date_and_ownership_rules():
    tables = tiny_tables()
    tables["bills"].loc[0, "due_date"] = tables["bills"].loc[0, "statement_date"]
    tables["repayments"].loc[0, "customer_id"] = 2
    tables["repayments"].loc[1, "repaid_at"] = utc("2024-01-15")
    report = validate_tables(tables, EXTRACTION_DATE)
    rules = {(v.table, v.column): v.rule for v in report.violations}
    assert "after the statement date" in rules[("bills", "due_date")]
    assert "owns the bill" in rules[("repayments", "customer_id")]
    assert "before the bill's statement date" in rules[("repayments", "repaid_at")]


def test_missing_table_and_column_and_nulls_are_reported():
    tables = tiny_tables()
    del tables["limit_events"]
    tables["orders"] = tables["orders"].drop(columns=["channel"])
    tables["bills"]["minimum_due"] = [1.0, None, 2.0, 3.0]
    report = validate_tables(tables, EXTRACTION_DATE)
    described = report.describe()
    assert "[limit_events] required table is missing" in described
    assert "[orders.channel] required column is missing" in described
    assert "[bills.minimum_due] must not be empty" in described


def test_validation_does_not_modify_the_frames():
    tables = tiny_tables()
    tables["orders"].loc[0, "amount"] = -1.0
    before = {name: frame.copy() for name, frame in tables.items()}
    validate_tables(tables, EXTRACTION_DATE)
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, before[name])
