"""Adapters for the public data sets: exact expectations on hand-written rows, and the real files
(skipped when ../shared/data is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from credit_models.data.adapters import (
    SourceDataError,
    convert_german_credit,
    convert_uci_taiwan,
    empty_table,
)
from credit_models.data.adapters.uci_taiwan import reproducible_months_late
from credit_models.data.contract import TABLES
from credit_models.data.io import read_manifest, read_tables, write_tables
from credit_models.data.validation import check_tables
from credit_models.labels.delinquency import bill_cure_times, days_past_due_at
from tests.conftest import SHARED_DATA

GERMAN_FILE = SHARED_DATA / "german_credit" / "germancredit.csv"

STATUS_DATES = [pd.Timestamp(f"2005-{month:02d}-15", tz="UTC") for month in range(4, 10)]
"""The documented calendar: April .. September statuses are read on the 15th of the month."""
STATUS = ["X11", "X10", "X9", "X8", "X7", "X6"]     # April .. September
BILL = ["X17", "X16", "X15", "X14", "X13", "X12"]
PAYMENT = ["X23", "X22", "X21", "X20", "X19", "X18"]


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def uci_row(customer: int, limit: float, sex: int, education: int, marriage: int, age: int,
            status: list[int], bills: list[float], payments: list[float], default: int) -> dict:
    """One source row from April-first lists (the source orders the months September first)."""
    row = {"ID": customer, "X1": limit, "X2": sex, "X3": education, "X4": marriage, "X5": age}
    row.update(dict(zip(STATUS, status, strict=True)))
    row.update(dict(zip(BILL, bills, strict=True)))
    row.update(dict(zip(PAYMENT, payments, strict=True)))
    row["Y"] = default
    return row


FIXTURE_ROWS = [
    # 1: pays every statement in full; nothing spent in July (a zero statement), no payment in
    #    August (nothing to pay).
    uci_row(1, 10000, 2, 2, 1, 30, [-1, -1, -1, -1, -1, -1],
            [1000, 2000, 1500, 0, 500, 800], [1000, 1000, 2000, 1500, 0, 500], 0),
    # 2: misses the April statement (1 month late in June, 2 in July), catches up in August.
    uci_row(2, 5000, 1, 5, 0, 45, [-1, 0, 1, 2, 0, -1],
            [1000] * 6, [500, 0, 0, 0, 3000, 200], 0),
    # 3: never pays; the source jumps from 0 in May to 2 in June, which days past due cannot do.
    uci_row(3, 20000, 2, 1, 2, 25, [0, 0, 2, 3, 4, 5], [2000] * 6, [0] * 6, 1),
    # 4: 1 month late in April, current in May with no payment in April or May (impossible);
    #    a positive April statement the status calls settled without any payment; a credit
    #    balance in September.
    uci_row(4, 8000, 1, 6, 3, 60, [1, 0, 0, 0, 0, -2],
            [500, 500, 500, 500, 500, -200], [0, 0, 0, 100, 100, 100], 0),
]


@pytest.fixture
def uci_fixture(tmp_path: Path) -> Path:
    path = tmp_path / "uci.csv"
    pd.DataFrame(FIXTURE_ROWS).to_csv(path, index=False)
    return path


def derived_days_past_due(tables: dict[str, pd.DataFrame], customer_ids) -> pd.DataFrame:
    """The contract's days past due at each status date (customers × months)."""
    cured = bill_cure_times(tables["bills"], tables["repayments"])
    return pd.DataFrame({
        date: days_past_due_at(cured, date).reindex(customer_ids).fillna(0.0)
        for date in STATUS_DATES
    })


def status_agreement(tables: dict[str, pd.DataFrame], source: pd.DataFrame) -> np.ndarray:
    """Whether the derived days past due match the source status: 0 when status <= 0, else the
    status in whole months (28-31 days each, so rounding DPD / 30.44 recovers it exactly)."""
    derived = derived_days_past_due(tables, source["ID"].to_numpy()).to_numpy()
    status = source[STATUS].to_numpy()
    months = np.rint(derived / 30.44)
    return np.where(status <= 0, derived == 0, (months == status) & (derived > 0))


# ---------------------------------------------------------------------------------------------
# UCI Taiwan on hand-written rows


def test_uci_fixture_tables_pass_the_contract_with_exact_counts(uci_fixture):
    adapted = convert_uci_taiwan(uci_fixture)
    check_tables(adapted.tables, adapted.manifest.extraction_timestamp)
    tables = adapted.tables
    assert adapted.manifest.extraction_date == "2005-10-01T00:00:00+00:00"
    assert adapted.manifest.source == "uci_taiwan_credit_card"
    assert set(tables) == {"customers", "orders", "bills", "repayments", "limit_events", "labels"}
    assert {name: len(frame) for name, frame in tables.items()} == {
        "customers": 4, "orders": 0, "bills": 27, "repayments": 15, "limit_events": 4,
        "labels": 4,
    }
    for name, frame in tables.items():
        for column in TABLES[name].columns:
            expected = empty_table(name)[column.name].dtype
            assert frame[column.name].dtype == expected, (name, column.name)
    customers = tables["customers"]
    assert list(customers.columns) == ["customer_id", "signed_up_at", "attr_education",
                                       "attr_marriage", "attr_age"]
    assert customers["attr_education"].tolist() == [2, 5, 1, 6]     # undocumented codes kept
    assert customers["attr_marriage"].tolist() == [1, 0, 2, 3]
    assert (customers["signed_up_at"] == utc("2004-03-01")).all()
    limits = tables["limit_events"]
    assert limits["new_limit"].tolist() == [10000.0, 5000.0, 20000.0, 8000.0]
    assert limits["old_limit"].isna().all() and limits["expires_at"].isna().all()
    assert (limits["reason"] == "initial").all()
    assert (limits["changed_at"] == customers["signed_up_at"]).all()
    labels = tables["labels"]
    assert labels["is_bad"].tolist() == [False, False, True, False]
    assert (labels["as_of"] == utc("2005-10-01")).all()


def test_uci_fixture_bills_follow_the_calendar_with_opening_statements(uci_fixture):
    bills = convert_uci_taiwan(uci_fixture).tables["bills"]
    first = bills.groupby("customer_id")["statement_date"].min()
    # a March statement for the April payment (1, 2) or for the arrears of May (3); none for 4
    assert first.to_dict() == {1: utc("2005-03-25"), 2: utc("2005-03-25"), 3: utc("2005-03-25"),
                               4: utc("2005-04-25")}
    one = bills[bills["customer_id"] == 1]
    assert one["statement_date"].dt.strftime("%m-%d").tolist() == [
        "03-25", "04-25", "05-25", "06-25", "07-25", "08-25", "09-25"]
    assert one["due_date"].dt.strftime("%m-%d").tolist() == [
        "04-15", "05-15", "06-15", "07-15", "08-15", "09-15", "10-15"]
    assert one["amount_due"].tolist() == [1000.0, 1000.0, 2000.0, 1500.0, 0.0, 500.0, 800.0]
    assert one["minimum_due"].tolist() == [30.0, 30.0, 60.0, 45.0, 0.0, 15.0, 24.0]
    assert (one["credit_limit"] == 10000.0).all()
    four = bills[bills["customer_id"] == 4]
    # April: status current with no payment before its deadline -> minimum 0; September: credit
    assert four["minimum_due"].tolist() == [0.0, 15.0, 15.0, 15.0, 15.0, 0.0]
    assert four["amount_due"].tolist()[-1] == -200.0
    three = bills[bills["customer_id"] == 3]
    assert three["minimum_due"].tolist() == [60.0] * 7


def test_uci_fixture_repayments_are_dated_and_allocated_as_documented(uci_fixture):
    tables = convert_uci_taiwan(uci_fixture).tables
    bills = tables["bills"].set_index("bill_id")
    paid = tables["repayments"].assign(
        statement=lambda f: f["bill_id"].map(bills["statement_date"]).dt.strftime("%m"),
        date=lambda f: f["repaid_at"].dt.strftime("%m-%d"),
    )
    got = {
        customer: list(zip(group["date"], group["statement"], group["amount"], strict=True))
        for customer, group in paid.groupby("customer_id")
    }
    assert got == {
        1: [("04-10", "03", 1000.0), ("05-10", "04", 1000.0), ("06-10", "05", 2000.0),
            ("07-10", "06", 1500.0), ("09-10", "08", 500.0)],
        2: [("04-10", "03", 500.0), ("08-10", "04", 30.0), ("08-10", "05", 30.0),
            ("08-10", "06", 30.0), ("08-10", "07", 2910.0), ("09-10", "08", 200.0)],
        4: [("07-10", "05", 15.0), ("07-10", "06", 85.0), ("08-10", "07", 100.0),
            ("09-10", "08", 100.0)],
    }
    source = pd.DataFrame(FIXTURE_ROWS)
    assert paid["amount"].sum() == source[PAYMENT].to_numpy().sum()   # every amount lands


def test_uci_fixture_days_past_due_reproduce_the_status_exactly(uci_fixture):
    adapted = convert_uci_taiwan(uci_fixture)
    derived = derived_days_past_due(adapted.tables, [1, 2, 3, 4])
    assert derived.to_numpy().tolist() == [
        [0, 0, 0, 0, 0, 0],
        [0, 0, 31, 61, 0, 0],            # April statement due 15 May, settled 10 August
        [0, 30, 61, 91, 122, 153],       # March statement due 15 April, never paid
        [0, 0, 0, 0, 0, 0],
    ]
    agree = status_agreement(adapted.tables, pd.DataFrame(FIXTURE_ROWS))
    assert agree[:2].all()                                   # consistent rows: exact
    assert agree.tolist()[2:] == [[True, False, True, True, True, True],    # May 0 -> 1
                                  [False, True, True, True, True, True]]    # April 1 -> 0
    rebuilt = adapted.manifest.details["status_reconstruction"]
    assert rebuilt["reproduced"] == 22 and rebuilt["customer_months"] == 24
    assert rebuilt["changed"] == {"0->1": 1, "1->0": 1}
    assert rebuilt["source_rises_of_more_than_one_month"] == 1
    assert rebuilt["source_settlements_without_payment"] == 1


def test_uci_fixture_report_counts_what_was_left_out_or_reconciled(uci_fixture):
    adapted = convert_uci_taiwan(uci_fixture)
    details = adapted.manifest.details
    assert details["rows_read"] == 4
    assert details["left_out"] == {"X2 (SEX)": 4}
    assert details["zero_payments_without_row"] == 13
    assert details["opening_statements"] == 3
    assert details["customers_with_opening_statements"] == 3
    assert details["minimum_due"]["zero_settled_without_payment"] == 1
    text = "\n".join(adapted.report)
    assert "read 4 rows" in text
    assert "left out: SEX (X2) for all 4 customers" in text
    assert "13 zero payments create no row" in text
    assert "22 of 24 customer-months" in text
    assert "X2" not in adapted.tables["customers"].columns
    assert not any("sex" in column for column in adapted.tables["customers"].columns)


def test_uci_fixture_round_trips_through_write_tables(uci_fixture, tmp_path):
    adapted = convert_uci_taiwan(uci_fixture)
    root = write_tables(adapted.tables, tmp_path / "uci", adapted.manifest)
    manifest = read_manifest(root)
    tables = read_tables(root)
    check_tables(tables, manifest.extraction_timestamp)
    assert manifest.details["status_reconstruction"]["reproduced"] == 22
    pd.testing.assert_frame_equal(tables["bills"], adapted.tables["bills"])


def test_reproducible_months_late_keeps_possible_sequences_and_fixes_impossible_ones():
    status = np.array([
        [-2, -1, 0, 1, 2, 0],     # possible: one more month late a month, settled with a payment
        [0, 2, 2, 2, 2, 2],       # jump 0 -> 2, then stays 2 months late while paying
        [1, 1, 0, 0, 0, 0],       # settled in May and June without a payment in April-June
    ])
    paid = np.array([
        [1, 1, 0, 0, 0, 1],
        [1, 1, 1, 1, 1, 1],
        [0, 0, 0, 1, 1, 1],
    ], dtype=bool)
    assert reproducible_months_late(status, paid).tolist() == [
        [0, 0, 0, 1, 2, 0],
        [1, 2, 2, 2, 2, 2],       # the earliest month changes, the later ones stay exact
        [0, 0, 0, 0, 0, 0],
    ]


def test_uci_source_problems_are_named(tmp_path):
    rows = pd.DataFrame(FIXTURE_ROWS)
    missing = tmp_path / "missing.csv"
    rows.drop(columns=["X7"]).to_csv(missing, index=False)
    with pytest.raises(SourceDataError, match="X7"):
        convert_uci_taiwan(missing)
    bad_status = tmp_path / "bad_status.csv"
    rows.assign(X6=[0, 0, 0, 12]).to_csv(bad_status, index=False)
    with pytest.raises(SourceDataError, match=r"-2\.\.9: 1 row"):
        convert_uci_taiwan(bad_status)
    duplicated = tmp_path / "duplicated.csv"
    rows.assign(ID=[1, 1, 2, 3]).to_csv(duplicated, index=False)
    with pytest.raises(SourceDataError, match="ID must be unique: 2 row"):
        convert_uci_taiwan(duplicated)
    with pytest.raises(FileNotFoundError):
        convert_uci_taiwan(tmp_path / "nowhere.csv")


# ---------------------------------------------------------------------------------------------
# German credit on hand-written rows

GERMAN_COLUMNS = ("status_of_existing_checking_account,duration_in_month,purpose,credit_amount,"
                  "personal_status_and_sex,age_in_years,Own Telephone,foreign_worker,"
                  "creditability")


def test_german_fixture_maps_attributes_and_labels_exactly(tmp_path):
    path = tmp_path / "german.csv"
    path.write_text(
        GERMAN_COLUMNS + "\n"
        "... < 0 DM,6,radio/television,1169,male : single,67,x,yes,good\n"
        "no checking account,48,car (new),5951,female : divorced/separated/married,22,x,no,bad\n"
        "0 <= ... < 200 DM,12,education,2096,male : single,49,,yes,good\n"
    )
    adapted = convert_german_credit(path)
    check_tables(adapted.tables, adapted.manifest.extraction_timestamp)
    customers = adapted.tables["customers"]
    assert customers["customer_id"].tolist() == [1, 2, 3]
    assert list(customers.columns) == [
        "customer_id", "signed_up_at", "attr_status_of_existing_checking_account",
        "attr_duration_in_month", "attr_purpose", "attr_credit_amount", "attr_age_in_years",
        "attr_own_telephone",
    ]
    assert customers["attr_own_telephone"].isna().tolist() == [False, False, True]
    assert customers["attr_duration_in_month"].dtype == "int64"
    assert customers["attr_purpose"].dtype == "str"
    assert customers["attr_purpose"].tolist() == ["radio/television", "car (new)", "education"]
    labels = adapted.tables["labels"]
    assert labels["is_bad"].tolist() == [False, True, False]
    assert (labels["as_of"] == utc("1994-02-01")).all()
    assert (customers["signed_up_at"] < labels["as_of"]).all()
    assert set(adapted.tables) == {"customers", "labels"}       # no event tables written
    written = write_tables(adapted.tables, tmp_path / "german", adapted.manifest)
    read = read_tables(written)
    check_tables(read, adapted.manifest.extraction_timestamp)
    for name in ("orders", "bills", "repayments", "limit_events"):
        assert name not in {path.stem for path in written.iterdir()}
        pd.testing.assert_frame_equal(read[name], empty_table(name))   # as the files once were
    text = "\n".join(adapted.report)
    assert "left out: personal_status_and_sex for all 3 rows" in text
    assert "left out: foreign_worker for all 3 rows" in text
    assert "1 bad" in text
    assert "attr_own_telephone: 1" in text        # the missing value is counted, not dropped


def test_german_unknown_outcome_is_an_error(tmp_path):
    path = tmp_path / "german.csv"
    path.write_text(
        "duration_in_month,personal_status_and_sex,foreign_worker,creditability\n"
        "6,male : single,yes,good\n12,male : single,yes,unknown\n"
    )
    with pytest.raises(SourceDataError, match="creditability must be one of"):
        convert_german_credit(path)


def test_empty_table_has_the_contract_columns_and_dtypes():
    for name, spec in TABLES.items():
        frame = empty_table(name)
        assert list(frame.columns) == spec.column_names
        kinds = {"int": "int64", "float": "float64", "string": "str", "bool": "bool",
                 "timestamp": "datetime64[us, UTC]"}
        assert [str(frame[c.name].dtype) for c in spec.columns] == [
            kinds[c.kind] for c in spec.columns]


# ---------------------------------------------------------------------------------------------
# The real files


# ``uci_taiwan`` (tests/conftest.py): the real file converted once per session, with its rows.


@pytest.mark.real_data
def test_uci_taiwan_file_passes_the_contract_with_the_documented_counts(uci_taiwan):
    adapted, source = uci_taiwan
    tables = adapted.tables
    check_tables(tables, adapted.manifest.extraction_timestamp)
    assert len(tables["customers"]) == 30_000
    bills = tables["bills"]
    in_data = bills["statement_date"] >= utc("2005-04-01")
    assert in_data.sum() == 6 * 30_000
    assert bills[in_data].groupby("customer_id").size().eq(6).all()
    opening = adapted.manifest.details["opening_statements"]
    assert (~in_data).sum() == opening
    assert len(bills) == 180_000 + opening
    merged = bills[in_data].sort_values(["customer_id", "statement_date"])
    assert merged["amount_due"].to_numpy().tolist() == source.sort_values("ID")[
        BILL].to_numpy().ravel().tolist()
    payments = source[PAYMENT].to_numpy()
    assert tables["repayments"]["amount"].sum() == pytest.approx(payments.sum(), abs=0.01)
    assert adapted.manifest.details["zero_payments_without_row"] == int((payments == 0).sum())
    assert "attr_education" in tables["customers"] and "X2" not in tables["customers"]
    assert len(tables["limit_events"]) == 30_000


@pytest.mark.real_data
def test_uci_taiwan_file_reproduces_the_repayment_status(uci_taiwan):
    adapted, source = uci_taiwan
    agree = status_agreement(adapted.tables, source.sort_values("ID").reset_index(drop=True))
    share = agree.mean()
    assert share >= 0.95, f"only {share:.2%} of customer-months reproduced"
    assert adapted.manifest.details["status_reconstruction"]["reproduced"] == int(agree.sum())


@pytest.mark.real_data
def test_uci_taiwan_file_labels_carry_the_source_bad_rate(uci_taiwan):
    adapted, _ = uci_taiwan
    labels = adapted.tables["labels"]
    assert len(labels) == 30_000
    assert round(100 * labels["is_bad"].mean(), 2) == 22.12


@pytest.mark.real_data
def test_german_real_file_passes_the_contract_with_the_documented_counts():
    if not GERMAN_FILE.is_file():
        pytest.skip(f"{GERMAN_FILE} is absent")
    adapted = convert_german_credit(GERMAN_FILE)
    check_tables(adapted.tables, adapted.manifest.extraction_timestamp)
    customers = adapted.tables["customers"]
    assert len(customers) == 1_000
    assert int(adapted.tables["labels"]["is_bad"].sum()) == 300
    attributes = [c for c in customers.columns if c.startswith("attr_")]
    assert len(attributes) == 18
    assert "attr_personal_status_and_sex" not in attributes
    assert "attr_foreign_worker" not in attributes
    assert customers["attr_credit_amount"].dtype == "int64"
    assert customers["attr_credit_history"].dtype == "str"
    for name in ("orders", "bills", "repayments", "limit_events"):
        assert name not in adapted.tables
