from __future__ import annotations

import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_models.features.window_features import build_window_features, feature_name
from tests.portfolio_builder import tiny_tables, utc

AS_OF = utc("2024-03-22")


def _features(tables, as_of=AS_OF, windows=(30, 90)):
    snapshots = pd.DataFrame({"customer_id": [1, 2], "as_of": [as_of, as_of]})
    return build_window_features(tables, snapshots, windows).frame.set_index("customer_id")


def test_window_aggregates_by_hand():
    features = _features(tiny_tables())
    first, second = features.loc[1], features.loc[2]
    assert first[feature_name("orders", "order", "count", 30)] == 0          # 15 Feb is 36 days back
    assert first[feature_name("orders", "order", "count", 90)] == 2
    assert first[feature_name("orders", "amount", "sum", 90)] == 400.0
    assert first[feature_name("orders", "amount", "mean", 90)] == 200.0
    assert first[feature_name("orders", "instalment", "share", 90)] == 0.5
    assert second[feature_name("orders", "amount", "max", 30)] == 950.0
    assert second[feature_name("declines", "insufficient_limit", "count", 30)] == 1
    assert second[feature_name("limit", "cut", "count", 90)] == 1
    assert second[feature_name("delinquency", "days_past_due", "current")] == 31.0
    assert second[feature_name("delinquency", "days_past_due", "max", 90)] == 31.0
    assert second[feature_name("delinquency", "late_bill", "count", 90)] == 2   # 21 and 22 unpaid
    assert first[feature_name("delinquency", "late_bill", "count", 90)] == 0
    assert first[feature_name("bills", "utilisation", "last")] == 0.1
    assert first[feature_name("repayments", "amount", "sum", 90)] == 200.0
    assert first[feature_name("bills", "paid_to_due", "ratio", 90)] == 1.0
    assert second[feature_name("limit", "credit_limit", "last")] == 1000.0
    assert first[feature_name("customer", "tenure", "days")] == 81.0
    assert first[feature_name("customer", "education", "value")] == "university"


def test_empty_window_gives_zero_counts_and_missing_statistics():
    features = _features(tiny_tables(), windows=(1,))
    row = features.loc[1]
    assert row[feature_name("orders", "order", "count", 1)] == 0
    assert row[feature_name("orders", "amount", "sum", 1)] == 0
    assert math.isnan(row[feature_name("orders", "amount", "mean", 1)])
    assert math.isnan(row[feature_name("orders", "amount", "max", 1)])


TIME_COLUMNS = {
    "orders": "ordered_at", "repayments": "repaid_at", "bills": "statement_date",
    "limit_events": "changed_at", "declines": "declined_at",
}


@settings(max_examples=80, deadline=None)
@given(
    table=st.sampled_from(sorted(TIME_COLUMNS)),
    row=st.integers(min_value=0, max_value=3),
    seconds_after=st.integers(min_value=0, max_value=200 * 86_400),
    scale=st.floats(min_value=0.0, max_value=50.0, allow_nan=False),
    action=st.sampled_from(["move", "add", "delete"]),
)
def test_events_at_or_after_as_of_never_change_a_feature(table, row, seconds_after, scale, action):
    """Move an event to, add a copy at, or delete one dated at or after as_of: features stay."""
    baseline_tables = tiny_tables()
    tables = tiny_tables()
    frame = tables[table]
    row = row % len(frame)
    time_column = TIME_COLUMNS[table]
    when = AS_OF + pd.Timedelta(seconds=seconds_after)
    if action == "delete":
        late = frame[frame[time_column] >= AS_OF]
        if late.empty:
            return
        tables[table] = frame.drop(index=late.index[row % len(late)]).reset_index(drop=True)
        if table == "bills":
            tables["repayments"] = tables["repayments"][
                tables["repayments"]["bill_id"].isin(tables["bills"]["bill_id"])
            ].reset_index(drop=True)
    else:
        event = frame.iloc[[row]].copy()
        event[time_column] = when
        if table == "bills":
            event["due_date"] = when + pd.Timedelta(days=19)
        if "amount" in event.columns:
            event["amount"] = event["amount"] * scale
        if action == "add":
            key = frame.columns[0]
            event[key] = frame[key].max() + 1
            tables[table] = pd.concat([frame, event], ignore_index=True)
        else:
            if frame.loc[row, time_column] < AS_OF:
                # Moving a past event changes the past; move a copy instead of the original.
                event[frame.columns[0]] = frame[frame.columns[0]].max() + 1
                tables[table] = pd.concat([frame, event], ignore_index=True)
            else:
                tables[table] = pd.concat([frame.drop(index=row), event], ignore_index=True)
        if table == "repayments":
            bill_time = tables["bills"].set_index("bill_id")["statement_date"]
            assert (tables["repayments"]["bill_id"].map(bill_time).notna()).all()
    pd.testing.assert_frame_equal(_features(baseline_tables), _features(tables))
