from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from credit_models.data.contract import REQUIRED_TABLES, TABLES
from credit_models.data.plausibility import DEFAULT_AMOUNT_CEILING, PlausibilityConfig
from credit_models.data.validation import check_tables, validate_tables
from credit_models.errors import ConfigError, DataContractError
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


# --- non-finite and absurd amounts ---------------------------------------------------------------

AMOUNT_COLUMNS = [(table, column.name) for table, spec in TABLES.items() if table in tiny_tables()
                  for column in spec.columns if column.is_amount]


def test_every_amount_column_of_the_contract_is_checked():
    assert set(AMOUNT_COLUMNS) == {
        ("orders", "amount"), ("bills", "amount_due"), ("bills", "minimum_due"),
        ("bills", "credit_limit"), ("repayments", "amount"), ("limit_events", "old_limit"),
        ("limit_events", "new_limit"), ("declines", "amount"), ("declines", "available_limit"),
    }


@pytest.mark.parametrize("value,rule", [
    (math.inf, "must be finite"), (1e300, "within ±1e+09"), (-2e9, "within ±1e+09"),
])
def test_infinite_and_absurd_values_are_violations_in_every_amount_column(value, rule):
    """Before, ±inf and 1e300 passed as 'no violations' and spoilt every window sum after them."""
    tables = tiny_tables()
    for table, column in AMOUNT_COLUMNS:
        tables[table].loc[0, column] = value
    tables["customers"]["attr_income"] = [value, 52_000.0]         # an amount-like attribute
    report = validate_tables(tables, EXTRACTION_DATE)
    found = {(v.table, v.column): v for v in report.violations if rule in v.rule}
    for table, column in [*AMOUNT_COLUMNS, ("customers", "attr_income")]:
        violation = found[(table, column)]
        assert violation.count == 1
        assert violation.examples[column].tolist() == [value]
        assert TABLES[table].key in violation.examples.columns
    assert f"[orders.amount] {found[('orders', 'amount')].rule}: 1 row(s)" in report.describe()


def test_missing_required_amounts_are_refused_and_optional_ones_allowed():
    tables = tiny_tables()
    tables["repayments"].loc[1, "amount"] = math.nan               # required
    tables["bills"].loc[1, "credit_limit"] = math.nan              # nullable
    report = validate_tables(tables, EXTRACTION_DATE)
    assert [(v.table, v.column, v.rule) for v in report.violations] == [
        ("repayments", "amount", "must not be empty (null)")]


def test_the_plausibility_ceiling_is_configurable_for_all_amounts_or_per_column():
    tables = tiny_tables()
    tables["orders"].loc[0, "amount"] = 2e9
    tables["repayments"].loc[0, "amount"] = 2e9
    refused = {(v.table, v.column) for v in validate_tables(tables, EXTRACTION_DATE).violations}
    assert refused == {("orders", "amount"), ("repayments", "amount")}
    raised = PlausibilityConfig(amount_ceiling=1e10)
    assert validate_tables(tables, EXTRACTION_DATE, raised).ok
    orders_only = PlausibilityConfig(ceilings={"orders": {"amount": 5e9}})
    report = validate_tables(tables, EXTRACTION_DATE, orders_only)
    assert [(v.table, v.column) for v in report.violations] == [("repayments", "amount")]
    assert "data.plausibility.ceilings.repayments.amount" in report.violations[0].rule


@pytest.mark.parametrize("settings,expected", [
    ({"amount_ceiling": 0.0}, "amount_ceiling must be a positive finite number"),
    ({"amount_ceiling": math.inf}, "amount_ceiling must be a positive finite number"),
    ({"ceilings": {"order": {"amount": 1e9}}}, "unknown table 'order'"),
    ({"ceilings": {"orders": {"category": 1e9}}}, "valid columns: ['amount']"),
    ({"ceilings": {"bills": {"amount_due": -1.0}}}, "ceilings.bills.amount_due must be"),
])
def test_a_bad_plausibility_setting_is_a_config_error(settings, expected):
    with pytest.raises(ConfigError) as raised:
        validate_tables(tiny_tables(), EXTRACTION_DATE, PlausibilityConfig(**settings))
    assert expected in str(raised.value)


def test_the_default_ceiling_is_the_documented_one():
    assert PlausibilityConfig().amount_ceiling == DEFAULT_AMOUNT_CEILING == 1e9
    readme = (Path(__file__).resolve().parents[2] / "data" / "README.md").read_text()
    assert "amount_ceiling" in readme and "1e9" in readme


# --- empty tables --------------------------------------------------------------------------------

@pytest.mark.parametrize("table", REQUIRED_TABLES)
def test_an_empty_required_table_is_refused_by_name(table):
    """Before, an empty orders table trained and registered a model, and an empty customers table
    gave only foreign-key errors on every other table."""
    tables = tiny_tables()
    tables[table] = tables[table].iloc[:0]
    report = validate_tables(tables, EXTRACTION_DATE)
    empty = [v for v in report.violations if v.table == table and v.column is None]
    assert len(empty) == 1 and empty[0].rule.startswith("table is empty")
    assert f"[{table}] table is empty" in report.describe()
    if table == "customers":      # not a flood of foreign-key errors repeating it
        assert [v.table for v in report.violations] == ["customers"]
    with pytest.raises(DataContractError):
        check_tables(tables, EXTRACTION_DATE)


def test_optional_tables_may_be_empty_or_absent():
    tables = tiny_tables()
    tables["declines"] = tables["declines"].iloc[:0]
    assert validate_tables(tables, EXTRACTION_DATE).ok
    del tables["declines"]
    assert validate_tables(tables, EXTRACTION_DATE).ok


def _application_data(labels_rows: int) -> dict[str, pd.DataFrame]:
    """Customers with ready-made outcomes and no event history, as the German credit adapter
    writes them."""
    tables = tiny_tables()
    for name in ("orders", "bills", "repayments", "limit_events", "declines"):
        tables[name] = tables[name].iloc[:0]
    tables["labels"] = pd.DataFrame({
        "customer_id": pd.Series([1, 2], dtype="int64"),
        "as_of": pd.Series([utc("2024-05-01")] * 2, dtype="datetime64[us, UTC]"),
        "is_bad": [False, True],
    }).iloc[:labels_rows]
    return tables


def test_event_tables_may_be_empty_only_beside_labels_with_rows():
    assert validate_tables(_application_data(labels_rows=2), EXTRACTION_DATE).ok
    report = validate_tables(_application_data(labels_rows=0), EXTRACTION_DATE)
    assert sorted(v.table for v in report.violations) == [
        "bills", "limit_events", "orders", "repayments"]
    assert all("labels table with rows" in v.rule for v in report.violations)
    empty_customers = _application_data(labels_rows=2)
    empty_customers["customers"] = empty_customers["customers"].iloc[:0]
    assert [v.table for v in validate_tables(empty_customers, EXTRACTION_DATE).violations
            if v.rule.startswith("table is empty")] == ["customers"]


def test_loading_a_data_set_applies_the_configured_ceilings(tmp_path):
    from dataclasses import replace

    from credit_models.data.io import DatasetManifest, write_tables
    from credit_models.workflows.dataset import load_dataset
    from credit_models.workflows.settings import DataSettings

    tables = tiny_tables()
    tables["orders"].loc[0, "amount"] = 2e9                      # e.g. an amount in cents
    write_tables(tables, tmp_path / "set", DatasetManifest(EXTRACTION_DATE.isoformat(), "test"))
    data = DataSettings(path=str(tmp_path / "set"))
    with pytest.raises(DataContractError, match=r"\[orders.amount\] must be within ±1e\+09"):
        load_dataset(data)
    data = replace(data, plausibility=PlausibilityConfig(amount_ceiling=1e10, ceilings={}))
    assert load_dataset(data).report.ok
