from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from credit_models.errors import ConfigError
from credit_models.features.engine import build_features
from credit_models.features.sources import SOURCES
from credit_models.features.spec import FUNCTIONS, parse_feature_spec
from tests.portfolio_builder import tiny_tables, utc

AS_OF = utc("2024-03-22")
DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "conf" / "features" / "default.yaml"


@cache
def _default_spec():
    """Parsed once for the module: the spec is frozen, so no test can change it for another."""
    return parse_feature_spec(OmegaConf.to_container(OmegaConf.load(DEFAULT_SPEC)))


def _features(tables, spec=None, as_of=AS_OF):
    snapshots = pd.DataFrame({"customer_id": [1, 2], "as_of": [as_of, as_of]})
    return build_features(spec or _default_spec(), tables, snapshots).frame.set_index("customer_id")


@cache
def _tiny_features() -> pd.DataFrame:
    """The default features of the unchanged tiny portfolio, built once for the property test's
    many examples (each compares a changed portfolio with it; a copy, so none can alter it)."""
    return _features(tiny_tables())


def test_default_spec_by_hand():
    features = _features(tiny_tables())
    first, second = features.loc[1], features.loc[2]
    assert first["orders__order__count__30d"] == 0            # 15 Feb is 36 days back
    assert first["orders__order__count__90d"] == 2
    assert first["orders__amount__sum__90d"] == 400.0
    assert first["orders__amount__mean__90d"] == 200.0
    assert first["orders__amount__std__90d"] == pytest.approx(np.std([100, 300], ddof=1))
    assert first["orders_instalment__order__count__90d"] == 1
    assert second["orders_promotion__amount__max__30d"] == 950.0
    assert second["orders__category__distinct_count__90d"] == 2
    assert first["orders__order__days_since_last"] == 36.0
    assert first["orders__order__days_since_first"] == 72.0
    assert second["declines_insufficient_limit__decline__count__30d"] == 1
    assert second["limit_changes_cut__change__count__180d"] == 1
    assert second["delinquency__days_past_due__current"] == 31.0
    assert second["delinquency__days_past_due__max__90d"] == 31.0    # the unpaid bill counts
    assert second["due_outcomes__is_missed__sum__90d"] == 2          # bills 21 and 22
    assert first["due_outcomes__is_on_time__mean__90d"] == 1.0
    assert first["due_outcomes__is_minimum_only__mean__90d"] == 0.0
    assert second["due_outcomes_missed__bill__days_since_last"] == 2.0   # 22 missed on 20 Mar
    assert first["statements__utilisation__last"] == 0.1
    assert first["repayments__amount__sum__90d"] == 200.0
    assert first["repayments__paid_to_billed__ratio__90d"] == 1.0
    assert second["limit_changes__new_limit__last"] == 1000.0
    assert first["customer__tenure__days"] == 81.0
    assert first["customer__education__value"] == "university"
    assert math.isnan(second["cures__days_late__max__90d"])          # nothing cured yet


def test_empty_window_gives_zero_counts_and_missing_statistics():
    features = _features(tiny_tables())
    row = features.loc[1]
    assert row["orders__order__count__7d"] == 0
    assert row["orders__amount__sum__7d"] == 0
    assert math.isnan(row["orders__amount__mean__7d"])
    assert math.isnan(row["orders__amount__max__7d"])
    assert math.isnan(row["orders__amount__std__7d"])


def test_latency_hides_the_most_recent_days():
    raw = OmegaConf.to_container(OmegaConf.load(DEFAULT_SPEC))
    raw["latency_days"] = 40
    lagged = _features(tiny_tables(), parse_feature_spec(raw)).loc[1]
    assert lagged["orders__order__count__365d"] == 1             # the 15 Feb order is hidden


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"aggregates": [{"source": "order", "functions": ["count"]}]}, "valid choices are"),
        ({"aggregates": [{"source": "orders", "column": "amout", "functions": ["sum"]}]},
         "amount"),
        ({"aggregates": [{"source": "orders", "column": "amount", "functions": ["average"]}]},
         "mean"),
        ({"aggregates": [{"source": "orders", "column": "category", "functions": ["sum"]}]},
         "numeric column"),
        ({"aggregates": [{"source": "orders", "functions": ["count"], "filters": ["promo"]}]},
         "unknown filter"),
        ({"derived": [{"name": "x", "kind": "ratio", "inputs": ["orders__amount__sum__9d",
                                                              "orders__amount__sum__90d"]}]},
         "orders__amount__sum__90d"),
        ({"windowz": [1]}, "valid choices"),
    ],
)
def test_misspelt_spec_is_rejected_with_the_valid_choices(change, expected):
    raw = {"windows": [30, 90], "aggregates": [
        {"source": "orders", "column": "amount", "functions": ["sum"]}]}
    raw.update(change)
    with pytest.raises(ConfigError) as raised:
        parse_feature_spec(raw)
    assert expected in str(raised.value)


# --- every aggregation against a brute-force reference on random events -----------------------

NUMERIC_FUNCTIONS = ["count", "sum", "mean", "max", "min", "std", "last", "days_since_last",
                     "days_since_first"]


def _reference(events: pd.DataFrame, customer: int, as_of: pd.Timestamp, window: int | None,
               function: str, column: str | None):
    rows = events[(events["customer_id"] == customer) & (events["event_time"] < as_of)]
    if window is not None:
        rows = rows[rows["event_time"] >= as_of - pd.Timedelta(days=window)]
    rows = rows.sort_values("event_time", kind="stable")
    if function == "count":
        return float(len(rows))
    if rows.empty:
        return 0.0 if function in ("sum", "distinct_count") else float("nan")
    if function == "days_since_last":
        return (as_of - rows["event_time"].iloc[-1]).total_seconds() / 86_400
    if function == "days_since_first":
        return (as_of - rows["event_time"].iloc[0]).total_seconds() / 86_400
    values = rows[column]
    if function == "distinct_count":
        return float(values.nunique())
    if function == "last":
        return float(values.iloc[-1])
    if function == "std":
        return float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    return float(getattr(values, function)())


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    events=st.integers(min_value=0, max_value=40),
    window=st.sampled_from([None, 1, 7, 30, 90]),
)
def test_every_aggregation_matches_a_brute_force_reference(seed, events, window):
    generator = np.random.default_rng(seed)
    start = utc("2024-01-01")
    order_times = start + pd.to_timedelta(generator.integers(0, 120 * 86_400, events), unit="s")
    tables = tiny_tables()
    tables["orders"] = pd.DataFrame({
        "order_id": pd.Series(np.arange(events) + 1, dtype="int64"),
        "customer_id": pd.Series(generator.integers(1, 3, events), dtype="int64"),
        "ordered_at": pd.Series(order_times, dtype="datetime64[us, UTC]"),
        "amount": np.round(generator.gamma(2.0, 200.0, events), 2),
        "category": pd.Series(generator.choice(["a", "b", "c"], events), dtype="str"),
        "channel": pd.Series(["app"] * events, dtype="str"),
        "is_promotion": generator.random(events) < 0.3,
        "instalment_months": pd.Series(generator.choice([1, 3], events), dtype="int64"),
    })
    spec = parse_feature_spec({
        "windows": ["all" if window is None else window],
        "static_attributes": False,
        "aggregates": [
            {"source": "orders", "functions": ["count", "days_since_last", "days_since_first"]},
            {"source": "orders", "column": "amount",
             "functions": ["sum", "mean", "max", "min", "std", "last"]},
            {"source": "orders", "column": "category", "functions": ["distinct_count"]},
        ],
    })
    as_of = utc("2024-03-01")
    features = _features(tables, spec, as_of)
    events_frame = SOURCES["orders"].build(tables)
    suffix = "" if window is None else f"__{window}d"
    for customer in (1, 2):
        for function in NUMERIC_FUNCTIONS + ["distinct_count"]:
            column = {"distinct_count": "category"}.get(
                function, None if function in ("count", "days_since_last", "days_since_first")
                else "amount")
            name = f"orders__{column or 'order'}__{function}{suffix}"
            expected = _reference(events_frame, customer, as_of, window, function, column)
            actual = features.loc[customer, name]
            if math.isnan(expected):
                assert math.isnan(actual), (name, customer, actual)
            else:
                assert actual == pytest.approx(expected, rel=1e-9, abs=1e-6), (name, customer)


def test_every_function_is_covered_by_the_reference():
    assert set(FUNCTIONS) == set(NUMERIC_FUNCTIONS) | {"distinct_count"}


# --- point in time -------------------------------------------------------------------------------

TIME_COLUMNS = {
    "orders": "ordered_at", "repayments": "repaid_at", "bills": "statement_date",
    "limit_events": "changed_at", "declines": "declined_at",
}


@settings(max_examples=60, deadline=None)
@given(
    table=st.sampled_from(sorted(TIME_COLUMNS)),
    row=st.integers(min_value=0, max_value=3),
    seconds_after=st.integers(min_value=0, max_value=200 * 86_400),
    scale=st.floats(min_value=0.0, max_value=50.0, allow_nan=False),
    action=st.sampled_from(["move", "add", "delete"]),
)
def test_events_at_or_after_as_of_never_change_a_feature(table, row, seconds_after, scale, action):
    """Move an event to, add a copy at, or delete one dated at or after as_of: features stay."""
    tables = tiny_tables()
    frame = tables[table]
    time_column = TIME_COLUMNS[table]
    key = frame.columns[0]
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
        event = frame.iloc[[row % len(frame)]].copy()
        event[time_column] = AS_OF + pd.Timedelta(seconds=seconds_after)
        if table == "bills":
            event["due_date"] = event[time_column] + pd.Timedelta(days=19)
        if "amount" in event.columns:
            event["amount"] = event["amount"] * scale
        original_is_past = frame.loc[row % len(frame), time_column] < AS_OF
        if action == "add" or original_is_past:
            event[key] = frame[key].max() + 1
            tables[table] = pd.concat([frame, event], ignore_index=True)
        else:
            tables[table] = pd.concat([frame.drop(index=row % len(frame)), event],
                                      ignore_index=True)
    pd.testing.assert_frame_equal(_tiny_features().copy(), _features(tables))


def test_results_do_not_depend_on_the_chunk_size():
    tables = tiny_tables()
    snapshots = pd.DataFrame({"customer_id": [2, 1, 2], "as_of": [AS_OF, AS_OF, utc("2024-03-01")]})
    whole = build_features(_default_spec(), tables, snapshots, chunk_customers=10).frame
    chunked = build_features(_default_spec(), tables, snapshots, chunk_customers=1).frame
    pd.testing.assert_frame_equal(whole, chunked)
    assert whole["customer_id"].tolist() == [2, 1, 2]


def test_an_absent_optional_table_gives_unknown_not_zero_features():
    tables = tiny_tables()
    del tables["declines"]
    features = _features(tables)
    declined = [c for c in features.columns if c.startswith("declines")]
    assert declined and features[declined].isna().all().all()
    assert features.loc[1, "orders__order__count__90d"] == 2


def test_the_documented_example_of_adding_a_feature_works():
    readme = (Path(__file__).resolve().parents[2] / "data" / "README.md").read_text()
    section = readme.split("### Adding a feature", 1)[1]
    example = OmegaConf.to_container(OmegaConf.create(section.split("```yaml", 1)[1].split("```")[0]))
    raw = OmegaConf.to_container(OmegaConf.load(DEFAULT_SPEC))
    raw["filters"].update(example["filters"])
    raw["aggregates"] += example["aggregates"]
    raw["derived"] += example["derived"]
    features = _features(tiny_tables(), parse_feature_spec(raw))
    assert features.loc[1, "orders_electronics__amount__sum__90d"] == 300.0
    assert features.loc[1, "orders__electronics_share__ratio__90d"] == 0.75


def test_statistics_stay_exact_for_large_amounts_and_do_not_depend_on_the_chunk():
    from credit_models.data.simulator import SimulatorConfig, simulate_portfolio
    from credit_models.features.snapshots import customer_snapshots, month_starts

    tables = simulate_portfolio(SimulatorConfig(n_customers=500, chunk_size=500)).tables
    orders = tables["orders"]
    spring = orders[orders["ordered_at"].between(utc("2024-03-01"), utc("2024-05-01"))]
    customer = spring["customer_id"].value_counts().index[0]
    first = spring.index[spring["customer_id"] == customer][:2]
    orders.loc[first, "amount"] = 123_456_789.01          # two equal, very large amounts
    snapshots = customer_snapshots(tables["customers"], month_starts("2024-06-01", "2024-08-01"))
    spec = _default_spec()
    whole = build_features(spec, tables, snapshots, chunk_customers=10_000).frame
    chunked = build_features(spec, tables, snapshots, chunk_customers=37).frame
    pd.testing.assert_frame_equal(whole, chunked)
    both = orders.loc[first, "ordered_at"].max()
    row = whole[(whole["customer_id"] == customer) & (whole["as_of"] > both)].iloc[0]
    window = [c for c in whole.columns if c.startswith("orders__amount__std__")]
    exact = orders[(orders["customer_id"] == customer) & (orders["ordered_at"] < row["as_of"])
                   & (orders["ordered_at"] >= row["as_of"] - pd.Timedelta(days=365))]["amount"]
    assert row["orders__amount__std__365d"] == pytest.approx(exact.std(ddof=1), rel=1e-12)
    assert window


def test_derived_features_by_hand():
    spec = parse_feature_spec({
        "windows": [90], "static_attributes": False,
        "aggregates": [{"source": "orders", "column": "amount", "functions": ["sum", "max"]},
                       {"source": "declines", "functions": ["count"]}],
        "derived": [
            {"name": "spend_minus_largest", "kind": "difference",
             "inputs": ["orders__amount__sum__90d", "orders__amount__max__90d"]},
            {"name": "largest_share", "kind": "ratio",
             "inputs": ["orders__amount__max__90d", "orders__amount__sum__90d"]},
            {"name": "spend_per_decline", "kind": "ratio",
             "inputs": ["orders__amount__sum__90d", "declines__decline__count__90d"]},
            {"name": "larger", "kind": "maximum",
             "inputs": ["orders__amount__max__90d", "declines__decline__count__90d"]},
        ],
    })
    features = _features(tiny_tables(), spec)
    assert features.loc[1, "spend_minus_largest"] == 100.0            # 400 − 300
    assert features.loc[1, "largest_share"] == 0.75
    assert math.isnan(features.loc[1, "spend_per_decline"])           # no decline: 0 denominator
    assert features.loc[2, "spend_per_decline"] == 1000.0             # 1000 spent, 1 decline
    assert features.loc[2, "larger"] == 950.0
    assert features.loc[1, "customer__tenure__days"] == 81.0


# --- window sums stay exact to their own scale ---------------------------------------------------

SUM_SPEC = {"windows": [30, "all"], "static_attributes": False,
            "aggregates": [{"source": "orders", "column": "amount", "functions": ["sum", "mean"]}]}


def _orders_of_customer_one(amounts: list[float], days: list[str]) -> dict[str, pd.DataFrame]:
    """The tiny portfolio with customer 1's orders replaced by ``amounts`` on ``days``."""
    tables = tiny_tables()
    others = tables["orders"][tables["orders"]["customer_id"] != 1]
    count = len(amounts)
    mine = pd.DataFrame({
        "order_id": pd.Series(np.arange(count) + 100, dtype="int64"),
        "customer_id": pd.Series([1] * count, dtype="int64"),
        "ordered_at": pd.Series(pd.to_datetime(days, utc=True), dtype="datetime64[us, UTC]"),
        "amount": amounts,
        "category": pd.Series(["grocery"] * count, dtype="str"),
        "channel": pd.Series(["app"] * count, dtype="str"),
        "is_promotion": [False] * count,
        "instalment_months": pd.Series([1] * count, dtype="int64"),
    })
    tables["orders"] = pd.concat([others, mine], ignore_index=True)
    return tables


@pytest.mark.parametrize("huge", [1e15, 1e300, math.inf])
def test_a_huge_earlier_order_does_not_spoil_later_window_sums(huge):
    """Prefix sums lose the later small orders after one huge one (1e15 left steps of 0.125,
    1e300 left 0.0, inf left NaN): each window must be summed to its own scale."""
    small = [0.01, 0.07, 12.34, 99.99, 0.03]
    days = ["2024-01-02", "2024-03-01", "2024-03-05", "2024-03-09", "2024-03-12", "2024-03-15"]
    features = _features(_orders_of_customer_one([huge, *small], days), parse_feature_spec(SUM_SPEC))
    row = features.loc[1]
    assert row["orders__amount__sum__30d"] == pytest.approx(math.fsum(small), rel=1e-12)
    assert row["orders__amount__mean__30d"] == pytest.approx(math.fsum(small) / 5, rel=1e-12)
    assert row["orders__amount__sum"] == pytest.approx(math.fsum([huge, *small]), rel=1e-12)
    assert features.loc[2, "orders__amount__sum__30d"] == 950.0      # the other customer intact


def test_window_sums_of_amounts_spanning_seventeen_orders_of_magnitude_are_exact():
    generator = np.random.default_rng(11)
    count = 60
    amounts = np.round(10 ** generator.uniform(-2, 15, count), 2).tolist()
    seconds = np.sort(generator.integers(0, 80 * 86_400, count))
    days = (utc("2024-01-01") + pd.to_timedelta(seconds, unit="s")).strftime("%Y-%m-%dT%H:%M:%S")
    tables = _orders_of_customer_one(amounts, days.tolist())
    spec = parse_feature_spec({**SUM_SPEC, "windows": [1, 7, 30]})
    snapshot_days = pd.date_range("2024-01-05", "2024-03-22", freq="3D", tz="UTC")
    snapshots = pd.DataFrame({"customer_id": 1, "as_of": snapshot_days})
    features = build_features(spec, tables, snapshots).frame
    times = tables["orders"].set_index("customer_id").loc[1]
    for window in (1, 7, 30):
        for as_of, actual in zip(snapshot_days, features[f"orders__amount__sum__{window}d"]):
            inside = times[(times["ordered_at"] < as_of)
                           & (times["ordered_at"] >= as_of - pd.Timedelta(days=window))]
            assert actual == pytest.approx(math.fsum(inside["amount"]), rel=1e-12), (window, as_of)
