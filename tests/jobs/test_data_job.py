"""`credit-models-data`: generating into a folder of someone else's files stops before any work
(a config error: exit status 2), and validating an unreadable data set names the file."""

from __future__ import annotations

import pandas as pd
import pytest

from credit_models.config.settings import to_settings
from credit_models.data.io import DatasetManifest, write_tables
from credit_models.errors import DatasetReadError, OutputFolderError
from credit_models.jobs.data import run_data_job

TINY = ["data.simulator.n_customers=50", "data.simulator.chunk_size=500", "data.simulator.months=24"]


def test_generate_into_an_existing_folder_leaves_its_files_alone(compose_config, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "budget.xlsx").write_bytes(b"not ours")
    config = compose_config("data_job", ["action=generate", *TINY, f"data.path={folder}",
                                         "show_progress=false"])
    with pytest.raises(OutputFolderError, match="budget.xlsx"):
        run_data_job(to_settings(config))
    assert [path.name for path in tmp_path.rglob("*")] == ["exports", "budget.xlsx"]
    assert (folder / "budget.xlsx").read_bytes() == b"not ours"


def test_validate_names_an_unreadable_table_file(compose_config, tmp_path):
    root = write_tables({"customers": pd.DataFrame({"customer_id": [1]})}, tmp_path / "data",
                        DatasetManifest("2025-01-01T00:00:00+00:00", "warehouse"))
    (root / "customers.parquet").write_text("customer_id\n1\n")
    config = compose_config("data_job", ["action=validate", "data=parquet", f"data.path={root}"])
    with pytest.raises(DatasetReadError, match="customers.parquet: it is not a Parquet file"):
        run_data_job(to_settings(config))
