from __future__ import annotations

from functools import cache

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_models.errors import ConfigError
from credit_models.labels.default_label import (
    EXCLUDED_ALREADY_BAD,
    EXCLUDED_INACTIVE,
    EXCLUDED_INCOMPLETE_WINDOW,
    EXCLUDED_INDETERMINATE,
    LABELLED,
    DefaultDefinition,
    label_default,
    label_summary,
)
from credit_models.labels.delinquency import bill_cure_times, days_past_due_at
from tests.portfolio_builder import EXTRACTION_DATE, tiny_tables, utc


def _label(tables, as_of_dates, definition=DefaultDefinition(30, 2), extraction=EXTRACTION_DATE):
    snapshots = pd.DataFrame(
        [(c, utc(d)) for d in as_of_dates for c in (1, 2)], columns=["customer_id", "as_of"]
    )
    return label_default(snapshots, tables["bills"], tables["repayments"], definition, extraction)


def test_cure_times_and_days_past_due_by_hand():
    tables = tiny_tables()
    cured = bill_cure_times(tables["bills"], tables["repayments"]).set_index("bill_id")["cured_at"]
    assert cured[11] == utc("2024-02-10")
    assert cured[12] == utc("2024-03-15")
    assert cured[21] == utc("2024-03-25")       # paid 5 of 5, 34 days after the 20 Feb due date
    assert cured[22] == utc("2024-04-28")
    dpd = days_past_due_at(bill_cure_times(tables["bills"], tables["repayments"]), utc("2024-03-22"))
    assert dpd[1] == 0.0
    assert dpd[2] == 31.0                        # bill 21, due 20 Feb, still unpaid on 22 Mar


def test_labels_by_hand():
    labels = _label(tiny_tables(), ["2024-02-01", "2024-04-01", "2024-05-01"])
    by_key = labels.set_index(["customer_id", "as_of"])
    assert by_key.loc[(1, utc("2024-02-01")), "status"] == LABELLED
    assert not by_key.loc[(1, utc("2024-02-01")), "is_bad"]
    # bill 21 reaches 30 DPD on 21 Mar, inside (1 Feb, 1 Apr]
    assert bool(by_key.loc[(2, utc("2024-02-01")), "is_bad"])
    # bill 22 (due 20 Mar) is 12 days past due on 1 Apr and reaches 30 DPD on 19 Apr
    assert bool(by_key.loc[(2, utc("2024-04-01")), "is_bad"])
    # the window of 1 May ends 1 Jul, after the 1 Jun extraction date
    assert (by_key.xs(utc("2024-05-01"), level="as_of")["status"] == EXCLUDED_INCOMPLETE_WINDOW).all()
    assert by_key.xs(utc("2024-05-01"), level="as_of")["is_bad"].isna().all()


def test_already_bad_at_as_of_is_excluded_not_dropped():
    labels = _label(tiny_tables(), ["2024-04-25"], extraction=utc("2024-12-01"))
    row = labels.set_index("customer_id").loc[2]
    assert row["status"] == EXCLUDED_ALREADY_BAD    # bill 22 is 36 days past due on 25 Apr
    assert pd.isna(row["is_bad"])
    summary = label_summary(labels)
    assert summary[EXCLUDED_ALREADY_BAD].sum() == 1 and summary[LABELLED].sum() == 1


AS_OF = utc("2024-02-01")
WINDOW_END = utc("2024-04-01")


@cache
def _tiny_labels() -> pd.DataFrame:
    """The labels of the unchanged tiny portfolio at AS_OF, computed once for the property tests'
    many examples (each compares a changed portfolio with a copy of them)."""
    return _label(tiny_tables(), ["2024-02-01"])


@settings(max_examples=60, deadline=None)
@given(
    days_after=st.integers(min_value=0, max_value=300),
    amount=st.floats(min_value=0.0, max_value=5_000.0, allow_nan=False),
    bill=st.sampled_from([11, 12, 21, 22]),
)
def test_labels_ignore_repayments_after_the_performance_window(days_after, amount, bill):
    """Adding a repayment after the window end never changes a label."""
    tables = tiny_tables()
    before = _tiny_labels().copy()
    owner = int(tables["bills"].set_index("bill_id").loc[bill, "customer_id"])
    extra = pd.DataFrame({
        "repayment_id": pd.Series([99], dtype="int64"),
        "customer_id": pd.Series([owner], dtype="int64"),
        "bill_id": pd.Series([bill], dtype="int64"),
        "repaid_at": pd.Series([WINDOW_END + pd.Timedelta(days=days_after)],
                               dtype="datetime64[us, UTC]"),
        "amount": [amount],
    })
    tables["repayments"] = pd.concat([tables["repayments"], extra], ignore_index=True)
    after = _label(tables, ["2024-02-01"])
    pd.testing.assert_frame_equal(before, after)


@settings(max_examples=60, deadline=None)
@given(
    days_after=st.integers(min_value=1, max_value=300),
    minimum_due=st.floats(min_value=0.0, max_value=5_000.0, allow_nan=False),
    customer=st.sampled_from([1, 2]),
)
def test_labels_ignore_bills_due_after_the_performance_window(days_after, minimum_due, customer):
    """A bill whose days past due could only start counting after the window never matters."""
    tables = tiny_tables()
    before = _tiny_labels().copy()
    due = WINDOW_END + pd.Timedelta(days=days_after)
    extra = pd.DataFrame({
        "bill_id": pd.Series([77], dtype="int64"),
        "customer_id": pd.Series([customer], dtype="int64"),
        "statement_date": pd.Series([due - pd.Timedelta(days=19)], dtype="datetime64[us, UTC]"),
        "due_date": pd.Series([due], dtype="datetime64[us, UTC]"),
        "amount_due": [minimum_due * 10], "minimum_due": [minimum_due], "credit_limit": [1000.0],
    })
    tables["bills"] = pd.concat([tables["bills"], extra], ignore_index=True)
    pd.testing.assert_frame_equal(before, _label(tables, ["2024-02-01"]))


def test_indeterminates_are_excluded_or_counted_good_by_policy():
    definition = DefaultDefinition(60, 2, indeterminate_days_past_due=1)
    labels = _label(tiny_tables(), ["2024-02-01"], definition).set_index("customer_id")
    assert labels.loc[1, "status"] == LABELLED and not labels.loc[1, "is_indeterminate"]
    assert labels.loc[2, "status"] == EXCLUDED_INDETERMINATE     # 34 days late, below 60
    as_good = DefaultDefinition(60, 2, indeterminate_days_past_due=1, indeterminate_policy="good")
    labels = _label(tiny_tables(), ["2024-02-01"], as_good).set_index("customer_id")
    assert labels.loc[2, "status"] == LABELLED and labels.loc[2, "is_indeterminate"]
    assert not labels.loc[2, "is_bad"]


def test_inactive_snapshots_are_excluded_when_the_policy_asks():
    tables = tiny_tables()
    definition = DefaultDefinition(30, 1, inactive_months=1)
    snapshots = pd.DataFrame({"customer_id": [1, 2, 1, 2],
                              "as_of": [utc("2024-04-01")] * 2 + [utc("2024-05-01")] * 2})
    labels = label_default(snapshots, tables["bills"], tables["repayments"], definition,
                           utc("2024-12-01"), orders=tables["orders"])
    # March statements carry balances; nothing at all happens in April.
    assert labels["status"].tolist() == [LABELLED, LABELLED, EXCLUDED_INACTIVE, EXCLUDED_INACTIVE]
    assert labels["is_bad"].tolist()[:2] == [False, True]      # bill 22 hits 30 DPD on 19 Apr


@pytest.mark.parametrize(
    "kwargs,message",
    [({"bad_days_past_due": 0}, "bad_days_past_due"),
     ({"indeterminate_days_past_due": 30}, "indeterminate_days_past_due"),
     ({"indeterminate_policy": "bad"}, "indeterminate_policy"),
     ({"inactive_months": 0}, "inactive_months")],
)
def test_bad_definitions_are_rejected(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        DefaultDefinition(**kwargs)
