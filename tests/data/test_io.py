"""Reading a data set folder: every row of every table, or one error naming the file, what is
wrong with it and how to fix it (never a bare pyarrow or JSON traceback, never rows left out)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from credit_models.data.io import (
    MANIFEST_NAME,
    DatasetManifest,
    read_manifest,
    read_table,
    read_tables,
    write_tables,
)
from credit_models.errors import DatasetReadError

EXTRACTION_DATE = "2025-01-01T00:00:00+00:00"


def customers(first: int, count: int) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": pd.Series(range(first, first + count), dtype="int64"),
        "signed_up_at": pd.Timestamp("2024-01-01", tz="UTC"),
    })


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A written data set: customers and bills as single files, and a manifest."""
    bills = pd.DataFrame({"bill_id": [1, 2], "customer_id": [1, 2], "minimum_due": [10.0, 20.0]})
    return write_tables({"customers": customers(1, 3), "bills": bills}, tmp_path / "portfolio",
                        DatasetManifest(EXTRACTION_DATE, "warehouse"))


def write_parts(folder: Path, frames: list[pd.DataFrame]) -> None:
    folder.mkdir(parents=True)
    for index, frame in enumerate(frames):
        frame.to_parquet(folder / f"part-{index:05d}.parquet", index=False)


# ---------------------------------------------------------------- table files
def test_an_empty_table_file_is_named_with_its_table(dataset):
    (dataset / "customers.parquet").write_bytes(b"")
    with pytest.raises(DatasetReadError) as caught:
        read_tables(dataset)
    message = str(caught.value)
    assert str(dataset / "customers.parquet") in message
    assert "'customers'" in message and "empty (0 bytes)" in message
    assert "to_parquet" in message


def test_csv_content_under_a_parquet_name_is_called_text(dataset):
    (dataset / "customers.parquet").write_text("customer_id,signed_up_at\n1,2024-01-01\n")
    with pytest.raises(DatasetReadError, match=r"not a Parquet file but text \(CSV\?\)") as caught:
        read_tables(dataset)
    assert "customer_id,signed_up_at" in str(caught.value)


def test_a_truncated_table_file_is_called_truncated(dataset):
    path = dataset / "customers.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DatasetReadError, match="truncated") as caught:
        read_tables(dataset)
    assert str(path) in str(caught.value)


def test_a_bad_part_file_is_named_not_its_folder(tmp_path):
    write_parts(tmp_path / "customers", [customers(1, 2), customers(3, 2)])
    (tmp_path / "customers" / "part-00001.parquet").write_bytes(b"PAR1 cut short")
    with pytest.raises(DatasetReadError) as caught:
        read_table(tmp_path, "customers")
    assert str(tmp_path / "customers" / "part-00001.parquet") in str(caught.value)
    assert "truncated" in str(caught.value)


def test_part_folders_are_read_whole_and_writer_leftovers_ignored(tmp_path):
    folder = tmp_path / "customers"
    write_parts(folder, [customers(1, 2), customers(3, 4)])
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-00000.parquet.crc").write_bytes(b"crc")
    frame = read_table(tmp_path, "customers")
    assert frame["customer_id"].tolist() == [1, 2, 3, 4, 5, 6]


def test_a_spark_style_parquet_folder_is_a_part_folder(tmp_path):
    write_parts(tmp_path / "customers.parquet", [customers(1, 2), customers(3, 1)])
    assert read_table(tmp_path, "customers")["customer_id"].tolist() == [1, 2, 3]


def test_entries_a_part_folder_would_skip_are_an_error_not_lost_rows(tmp_path):
    folder = tmp_path / "orders"
    write_parts(folder, [customers(1, 2)])
    (folder / "part-00001.csv").write_text("customer_id\n3\n")
    write_parts(folder / "month=2024-02", [customers(4, 1)])
    with pytest.raises(DatasetReadError) as caught:
        read_table(tmp_path, "orders")
    message = str(caught.value)
    assert "part-00001.csv" in message and "month=2024-02/" in message
    assert "'orders'" in message and "would not be read" in message


def test_a_table_stored_as_file_and_folder_is_an_error_naming_both(dataset):
    write_parts(dataset / "bills", [pd.DataFrame({"bill_id": [3]})])
    with pytest.raises(DatasetReadError) as caught:
        read_tables(dataset)
    message = str(caught.value)
    assert "'bills'" in message and "bills.parquet" in message and "bills/" in message


def test_an_empty_table_folder_beside_the_file_is_not_a_second_copy(dataset):
    (dataset / "bills").mkdir()
    assert read_tables(dataset)["bills"]["bill_id"].tolist() == [1, 2]


@pytest.mark.parametrize("make, what", [
    (lambda path: None, "does not exist"),
    (lambda path: path.write_text("x"), "is a file, not a folder"),
])
def test_a_data_set_path_that_is_no_folder_is_named(tmp_path, make, what):
    path = tmp_path / "customers.parquet"
    make(path)
    with pytest.raises(DatasetReadError, match=what) as caught:
        read_tables(path)
    assert str(path) in str(caught.value)


# ---------------------------------------------------------------- manifest
@pytest.mark.parametrize("text, problem", [
    ('{"extraction_date": "2025-01-01", "source": "x",}', r"is not valid JSON .* line 1"),
    ("[]", "holds a JSON list, not an object"),
    ('{"extraction_date": "2025-01-01", "source": "x", "origin": "crm"}',
     r"unknown key\(s\) \['origin'\]"),
    ('{"source": "x"}', r"missing key\(s\) \['extraction_date'\]"),
    ('{"extraction_date": "first of July", "source": "x"}',
     "extraction_date 'first of July' is not a date"),
    ('{"extraction_date": 20250101, "source": "x"}', "extraction_date must be a JSON string"),
    ('{"extraction_date": "2025-01-01", "source": "x", "details": []}',
     "details must be a JSON object"),
])
def test_a_malformed_manifest_names_the_file_and_the_problem(dataset, text, problem):
    (dataset / MANIFEST_NAME).write_text(text)
    with pytest.raises(DatasetReadError, match=problem) as caught:
        read_manifest(dataset)
    assert str(dataset / MANIFEST_NAME) in str(caught.value)
    assert "data.extraction_date" in str(caught.value)


def test_a_well_formed_manifest_reads_back(dataset):
    manifest = read_manifest(dataset)
    assert manifest == DatasetManifest(EXTRACTION_DATE, "warehouse", {})
    assert manifest.extraction_timestamp == pd.Timestamp(EXTRACTION_DATE)
    assert json.loads((dataset / MANIFEST_NAME).read_text())["source"] == "warehouse"
    assert read_manifest(dataset.parent) is None
