"""Application-only data sets: customers with attributes and a labels table, no event files.

Reading gives the absent event tables as empty contract tables, validation notes them, features
and a PD model are built on them; without labels a missing event table is still an error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.validation import check_is_fitted

from credit_models import (
    build_features,
    default_feature_spec,
    load_settings,
    read_tables,
    train_pd_model,
    validate_tables,
)
from credit_models.data import adapters
from credit_models.data.contract import TABLES
from credit_models.data.io import complete_tables, empty_table, was_absent
from credit_models.data.validation import check_tables
from credit_models.errors import ConfigError, DataContractError
from credit_models.workflows.dataset import load_dataset
from credit_models.workflows.settings import DataSettings, DataSource

EVENT_TABLES = ("orders", "bills", "repayments", "limit_events")
SIGNED_UP = pd.Timestamp("2024-01-10", tz="UTC")
AS_OF = pd.Timestamp("2024-02-01", tz="UTC")
N_CUSTOMERS = 300


def application_tables(n: int = N_CUSTOMERS, seed: int = 3) -> dict[str, pd.DataFrame]:
    """Customers with a numeric and a string attribute, and an outcome that depends on both."""
    rng = np.random.default_rng(seed)
    income = rng.normal(3000.0, 800.0, n).round(2)
    housing = rng.choice(["own", "rent", "free"], n)
    risk = -(income - 3000.0) / 400.0 + np.where(housing == "rent", 1.0, 0.0)
    customers = pd.DataFrame({
        "customer_id": np.arange(1, n + 1, dtype="int64"),
        "signed_up_at": pd.Series([SIGNED_UP] * n, dtype="datetime64[us, UTC]"),
        "attr_income": income,
        "attr_housing": housing,
    })
    labels = pd.DataFrame({
        "customer_id": customers["customer_id"],
        "as_of": pd.Series([AS_OF] * n, dtype="datetime64[us, UTC]"),
        "is_bad": rng.random(n) < 1.0 / (1.0 + np.exp(1.0 - risk)),
    })
    return {"customers": customers, "labels": labels}


def write_dataset(root: Path, tables: dict[str, pd.DataFrame], manifest: bool = True) -> Path:
    root.mkdir(parents=True)
    for name, frame in tables.items():
        frame.to_parquet(root / f"{name}.parquet", index=False)
    if manifest:
        (root / "manifest.json").write_text(json.dumps(
            {"extraction_date": AS_OF.isoformat(), "source": "applications"}))
    return root


@pytest.fixture
def application_data(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "applications", application_tables())


def test_absent_event_tables_are_read_as_empty_contract_tables(application_data):
    tables = read_tables(application_data)
    assert list(tables) == ["customers", "orders", "bills", "repayments", "limit_events",
                            "labels"]
    for name in EVENT_TABLES:
        assert was_absent(tables[name])
        pd.testing.assert_frame_equal(tables[name], empty_table(name))
        assert list(tables[name].columns) == TABLES[name].column_names
    assert not was_absent(tables["customers"]) and not was_absent(tables["labels"])
    assert "declines" not in tables                   # optional: stays absent, as before


def test_reading_as_empty_matches_the_empty_files_adapters_wrote(tmp_path):
    """An absent table and the empty file an adapter wrote before read alike (same dtypes, so
    the same fingerprint and feature cache key)."""
    for name in TABLES:
        pd.testing.assert_frame_equal(empty_table(name), adapters.empty_table(name))
    written = application_tables(n=20)
    with_files = {**written, **{name: adapters.empty_table(name) for name in EVENT_TABLES}}
    from_files = read_tables(write_dataset(tmp_path / "files", with_files))
    absent = read_tables(write_dataset(tmp_path / "absent", written))
    for name in EVENT_TABLES:
        pd.testing.assert_frame_equal(absent[name], from_files[name])
        assert not was_absent(from_files[name])


def test_validation_notes_the_absent_tables_and_finds_no_violation(application_data):
    report = validate_tables(read_tables(application_data), AS_OF)
    assert report.ok, report.describe()
    assert report.row_counts == {"customers": N_CUSTOMERS, "orders": 0, "bills": 0,
                                 "repayments": 0, "limit_events": 0, "labels": N_CUSTOMERS}
    assert report.notes == [(
        "orders, bills, repayments, limit_events: absent, read as empty tables (the data set "
        "carries its outcomes in labels: application data without an event history)"
    )]
    assert report.notes[0] in report.describe()


def test_an_in_memory_data_set_is_judged_as_its_read_form_without_being_changed():
    tables = application_tables(n=30)
    report = validate_tables(tables, AS_OF)
    assert report.ok and len(report.notes) == 1
    assert set(tables) == {"customers", "labels"}
    completed = complete_tables(tables)
    assert completed["customers"] is tables["customers"]
    assert [name for name in completed if was_absent(completed[name])] == list(EVENT_TABLES)


def test_features_are_built_on_application_data(application_data):
    tables = read_tables(application_data)
    check_tables(tables, AS_OF)
    snapshots = tables["labels"][["customer_id", "as_of"]]
    matrix = build_features(default_feature_spec(), tables, snapshots).frame
    assert len(matrix) == N_CUSTOMERS
    assert matrix["customer_id"].tolist() == snapshots["customer_id"].tolist()
    np.testing.assert_allclose(matrix["customer__income__value"],
                               tables["customers"]["attr_income"])
    assert matrix["customer__housing__value"].astype(str).tolist() == \
        tables["customers"]["attr_housing"].tolist()
    assert (matrix["orders__amount__sum__90d"] == 0).all()     # no events: empty windows
    assert (matrix["delinquency__days_past_due__current"] == 0).all()


@pytest.mark.parametrize("labels_rows", [None, 0])
def test_without_labels_rows_a_missing_event_table_is_named(tmp_path, labels_rows):
    tables = application_tables(n=20)
    if labels_rows is None:
        del tables["labels"]
    else:
        tables["labels"] = tables["labels"].iloc[:labels_rows]
    tables.update({name: adapters.empty_table(name) for name in ("orders", "bills", "repayments")})
    root = write_dataset(tmp_path / "events_missing", tables)
    read = read_tables(root)
    assert "limit_events" not in read
    report = validate_tables(read, AS_OF)
    missing = [v for v in report.violations if v.rule.startswith("required table is missing")]
    assert [v.table for v in missing] == ["limit_events"]
    assert "labels table with rows" in missing[0].rule
    assert not report.notes
    with pytest.raises(DataContractError, match=r"\[limit_events\] required table is missing"):
        load_dataset(DataSettings(source=DataSource.parquet, path=str(root)))


def test_a_present_malformed_event_table_is_still_an_error(tmp_path):
    tables = {**application_tables(n=20), "orders": pd.DataFrame({"order_id": [1]})}
    report = validate_tables(read_tables(write_dataset(tmp_path / "malformed", tables)), AS_OF)
    assert not report.ok
    missing_columns = {v.column for v in report.violations
                       if v.table == "orders" and v.rule == "required column is missing"}
    assert missing_columns == set(TABLES["orders"].column_names) - {"order_id"}
    assert report.notes == [(
        "bills, repayments, limit_events: absent, read as empty tables (the data set carries "
        "its outcomes in labels: application data without an event history)"
    )]


def test_a_missing_manifest_says_what_to_write(tmp_path):
    root = write_dataset(tmp_path / "no_manifest", application_tables(n=20), manifest=False)
    with pytest.raises(ConfigError) as raised:
        load_dataset(DataSettings(source=DataSource.parquet, path=str(root)))
    message = str(raised.value)
    assert f"Write {root / 'manifest.json'} holding " \
        '{"extraction_date": "2025-07-01T00:00:00+00:00", "source": "warehouse"}' in message
    assert "data.extraction_date=" in message
    assert f"the latest labels.as_of ({AS_OF.isoformat()})" in message
    dataset = load_dataset(DataSettings(source=DataSource.parquet, path=str(root),
                                        extraction_date=AS_OF.isoformat()))
    assert dataset.report.ok and dataset.extraction_date == AS_OF


def test_a_pd_model_trains_on_application_data(application_data, tmp_path):
    store = tmp_path / "mlflow.db"
    settings = load_settings("train", [
        "data=parquet", f"data.path={application_data}", "labels=provided",
        "split=stratified", "split.cv_folds=0", "features.aggregates=[]", "features.derived=[]",
        "engine.feature_cache_dir=null", f"mlflow.tracking_uri=sqlite:///{store}",
    ])
    result = train_pd_model(settings)
    check_is_fitted(result.model)
    assert set(result.model.feature_names_in_) <= {"customer__income__value",
                                                   "customer__housing__value",
                                                   "customer__tenure__days",
                                                   "delinquency__days_past_due__current"}
    assert len(result.data.labelled) == N_CUSTOMERS
    assert result.evaluated.metrics["test/auc"] > 0.6
    assert not store.exists()            # training alone logs nothing
