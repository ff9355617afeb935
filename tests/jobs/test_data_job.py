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


def test_describe_writes_the_portfolio_aggregates_and_refuses_a_folder_it_did_not_write(
        compose_config, small_portfolio, tmp_path, capsys):
    output = tmp_path / "portfolio"
    overrides = ["action=describe", "data=parquet", f"data.path={small_portfolio}",
                 f"describe.output={output}", "describe.cohort_by=quarter"]
    assert run_data_job(to_settings(compose_config("data_job", overrides))) == 0
    assert "roll forward" in capsys.readouterr().out
    written = {path.name for path in output.iterdir()}
    assert {"vintage_curves.csv", "vintage_matrix.csv", "roll_rate_counts.csv",
            "roll_rate_shares.csv", "monthly_volume.csv", "vintage_curves.png",
            "roll_rates.png", "monthly_volume.png"} <= written
    curves = pd.read_csv(output / "vintage_curves.csv")
    assert list(curves.columns) == ["cohort", "months_on_book", "accounts", "bad_accounts",
                                    "bad_share"]
    assert curves["cohort"].str.contains("-Q").all()
    shares = pd.read_csv(output / "roll_rate_shares.csv", index_col=0)
    assert shares.sum(axis=1).dropna().round(9).eq(1.0).all()
    for name in written - {"written_by_credit_models.json"}:    # aggregates only
        if name.endswith(".csv"):
            assert "customer_id" not in pd.read_csv(output / name).columns
    # a second run replaces its own folder; a folder holding someone else's file is refused
    assert run_data_job(to_settings(compose_config("data_job", overrides))) == 0
    (output / "notes.txt").write_text("mine")
    with pytest.raises(OutputFolderError, match="notes.txt"):
        run_data_job(to_settings(compose_config("data_job", overrides)))
    assert (output / "notes.txt").read_text() == "mine"
    # nor is a data set the toolkit wrote replaced by its description
    into_data = [*overrides[:-2], f"describe.output={small_portfolio}"]
    with pytest.raises(OutputFolderError):
        run_data_job(to_settings(compose_config("data_job", into_data)))
    assert any(small_portfolio.glob("bills*"))
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".portfolio")]


def test_describe_settings_are_checked(compose_config, small_portfolio):
    from credit_models.errors import ConfigError

    with pytest.raises(ConfigError, match="cohort_by"):
        to_settings(compose_config("data_job", ["action=describe", "describe.cohort_by=week"]))
