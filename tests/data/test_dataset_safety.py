"""The toolkit never deletes or overwrites what it did not write: generating or converting into a
folder works only when the folder is absent, empty or a data set the toolkit wrote (its marker,
or an unmarked data set of an older version); anything else stops before any work, untouched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from credit_models.data.folders import MARKER_NAME, read_marker
from credit_models.data.io import (
    MANIFEST_NAME,
    DatasetManifest,
    read_manifest,
    replace_folder,
    write_tables,
)
from credit_models.data.simulator import SimulatorConfig, generate_to_folder
from credit_models.errors import ConfigError, OutputFolderError
from credit_models.workflows.dataset import load_dataset, materialise
from credit_models.workflows.settings import DataSettings
from credit_models.workflows.structured import settings_from

TINY = {"n_customers": 50, "chunk_size": 500, "months": 24}


def tiny(**changes) -> SimulatorConfig:
    return SimulatorConfig(**{**TINY, **changes})


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (and its siblings) with its bytes."""
    return {str(path.relative_to(folder.parent)): path.read_bytes()
            for path in sorted(folder.parent.rglob("*")) if path.is_file()}


def users_data_set(folder: Path) -> Path:
    """A data set the user made: their own manifest, tables and notes."""
    folder.mkdir(parents=True)
    pd.DataFrame({"customer_id": [1, 2]}).to_parquet(folder / "customers.parquet", index=False)
    (folder / MANIFEST_NAME).write_text(json.dumps(
        {"extraction_date": "2025-01-01T00:00:00+00:00", "source": "warehouse"}))
    (folder / "notes.txt").write_text("extract of 2025-01-01, do not lose")
    return folder


def simulated_data(path: Path, **simulator) -> DataSettings:
    return settings_from(DataSettings, {"source": "simulator", "path": str(path),
                                        "extraction_date": None,
                                        "simulator": {**TINY, **simulator}})


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A tiny simulated data set, generated once; tests copy it before they change it."""
    return generate_to_folder(tiny(), tmp_path_factory.mktemp("generated") / "data",
                              show_progress=False)


def copy_of(source: Path, target: Path) -> Path:
    return Path(shutil.copytree(source, target))


# ---------------------------------------------------------------- generating
def test_generating_into_a_folder_of_someone_elses_files_changes_nothing(tmp_path):
    folder = users_data_set(tmp_path / "my_portfolio")
    before = snapshot(folder)
    with pytest.raises(OutputFolderError) as caught:
        generate_to_folder(tiny(), folder, show_progress=False)
    assert snapshot(folder) == before
    assert [path.name for path in tmp_path.iterdir()] == ["my_portfolio"]
    message = str(caught.value)
    assert str(folder) in message and "customers.parquet" in message and "notes.txt" in message
    assert f"data=parquet data.path={folder}" in message
    assert isinstance(caught.value, ConfigError)


def test_generating_into_an_empty_folder_is_allowed_and_marks_it(tmp_path):
    (tmp_path / "data").mkdir()
    root = generate_to_folder(tiny(), tmp_path / "data", show_progress=False)
    marker = read_marker(root)
    assert marker.writer == "simulator" and marker.settings["n_customers"] == TINY["n_customers"]
    assert "orders/part-00000.parquet" in marker.entries and MANIFEST_NAME in marker.entries
    assert {name.split("/")[0] for name in marker.entries} == {
        path.name for path in root.iterdir() if path.name != MARKER_NAME}
    assert not [path for path in tmp_path.rglob(".*")]


def test_a_data_set_the_toolkit_wrote_is_replaced(generated, tmp_path):
    root = copy_of(generated, tmp_path / "data")
    generate_to_folder(tiny(seed=3), root, show_progress=False)
    assert read_manifest(root).details["config"]["seed"] == 3
    assert read_marker(root).settings["seed"] == 3
    assert [path.name for path in tmp_path.iterdir()] == ["data"]


def test_a_file_added_to_a_generated_data_set_stops_the_replacement(generated, tmp_path):
    root = copy_of(generated, tmp_path / "data")
    (root / "orders" / "part-00000.parquet").rename(root / "orders.parquet")
    (root / "analysis.ipynb").write_text("{}")
    before = snapshot(root)
    with pytest.raises(OutputFolderError, match=r"\(analysis.ipynb, orders.parquet\)"):
        generate_to_folder(tiny(seed=3), root, show_progress=False)
    assert snapshot(root) == before


def test_a_file_added_inside_a_table_folder_stops_the_replacement(generated, tmp_path):
    root = copy_of(generated, tmp_path / "data")
    (root / "orders" / "README.txt").write_text("how I filtered these orders")
    with pytest.raises(OutputFolderError, match=r"\(orders/README.txt\)"):
        generate_to_folder(tiny(seed=3), root, show_progress=False)
    assert (root / "orders" / "README.txt").is_file()


def test_an_unmarked_data_set_of_an_older_version_is_still_the_toolkits(generated, tmp_path):
    root = copy_of(generated, tmp_path / "data")
    (root / MARKER_NAME).unlink()
    generate_to_folder(tiny(seed=3), root, show_progress=False)
    assert read_manifest(root).details["config"]["seed"] == 3


@pytest.mark.parametrize("change", ["foreign file", "foreign file in truth/", "other source",
                                    "no manifest"])
def test_an_unmarked_folder_that_is_not_an_older_data_set_is_refused(generated, tmp_path, change):
    root = copy_of(generated, tmp_path / "data")
    (root / MARKER_NAME).unlink()
    if change == "foreign file":
        (root / "notes.txt").write_text("mine")
    elif change == "foreign file in truth/":
        (root / "truth" / "notes.txt").write_text("mine")
    elif change == "other source":
        manifest = json.loads((root / MANIFEST_NAME).read_text())
        (root / MANIFEST_NAME).write_text(json.dumps({**manifest, "source": "warehouse"}))
    else:
        (root / MANIFEST_NAME).unlink()
    before = snapshot(root)
    with pytest.raises(OutputFolderError):
        generate_to_folder(tiny(seed=3), root, show_progress=False)
    assert snapshot(root) == before


def test_a_file_where_the_data_set_folder_should_be_is_not_replaced(tmp_path):
    path = tmp_path / "data"
    path.write_text("a file")
    with pytest.raises(OutputFolderError, match="is a file, not a folder"):
        generate_to_folder(tiny(), path, show_progress=False)
    assert path.read_text() == "a file"


# ---------------------------------------------------------------- converting (write_tables)
def frames() -> dict[str, pd.DataFrame]:
    return {"customers": pd.DataFrame({"customer_id": [1, 2, 3]})}


def test_write_tables_refuses_a_users_data_set_and_replaces_its_own(tmp_path):
    folder = users_data_set(tmp_path / "mine")
    before = snapshot(folder)
    manifest = DatasetManifest("2025-01-01T00:00:00+00:00", "uci_taiwan")
    with pytest.raises(OutputFolderError, match="notes.txt"):
        write_tables(frames(), folder, manifest)
    assert snapshot(folder) == before

    own = write_tables(frames(), tmp_path / "converted", manifest)
    assert read_marker(own).writer == "write_tables"
    write_tables({"customers": pd.DataFrame({"customer_id": [9]})}, own, manifest)
    assert pd.read_parquet(own / "customers.parquet")["customer_id"].tolist() == [9]
    (own / MARKER_NAME).unlink()  # as written before the marker: same source, only its tables
    write_tables(frames(), own, manifest)
    assert read_marker(own) is not None


# ---------------------------------------------------------------- replace_folder
def test_replace_folder_removes_only_the_folder_it_replaces(tmp_path):
    target = tmp_path / "entry"
    target.mkdir()
    (target / "features.parquet").write_text("old")
    unrelated = tmp_path / ".entry.old"
    unrelated.mkdir()
    (unrelated / "keep.txt").write_text("someone else's")
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "features.parquet").write_text("new")
    replace_folder(staging, target)
    assert (target / "features.parquet").read_text() == "new"
    assert (unrelated / "keep.txt").read_text() == "someone else's"
    assert sorted(path.name for path in tmp_path.iterdir()) == [".entry.old", "entry"]


def test_replace_folder_keeps_a_target_with_entries_the_new_folder_does_not_write(tmp_path):
    target = tmp_path / "entry"
    target.mkdir()
    (target / "mine.csv").write_text("keep")
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "features.parquet").write_text("new")
    with pytest.raises(OutputFolderError, match="mine.csv"):
        replace_folder(staging, target)
    assert (target / "mine.csv").read_text() == "keep"
    assert (staging / "features.parquet").is_file()


# ---------------------------------------------------------------- the jobs' data step
def test_a_data_path_typo_never_overwrites_a_users_folder(tmp_path):
    folder = users_data_set(tmp_path / "my_portfolio")
    before = snapshot(folder)
    with pytest.raises(OutputFolderError, match="data=parquet"):
        materialise(simulated_data(folder), show_progress=False)
    assert snapshot(folder) == before


def test_conversion_into_a_users_folder_stops_before_reading_the_source(tmp_path):
    folder = users_data_set(tmp_path / "my_portfolio")
    data = settings_from(DataSettings, {"source": "uci_taiwan", "path": str(folder),
                                        "source_file": str(tmp_path / "not_read.csv")})
    with pytest.raises(OutputFolderError, match="notes.txt"):
        materialise(data, show_progress=False)


def test_the_same_simulator_settings_reuse_the_data_set(generated, tmp_path):
    root = copy_of(generated, tmp_path / "data")
    (root / MARKER_NAME).unlink()  # an older version's data set is reused as well
    before = snapshot(root)
    assert materialise(simulated_data(root), show_progress=False) == root
    assert snapshot(root) == before


@pytest.mark.parametrize("path, problem", [
    (None, "data.path is not set"),
    ("missing", r"data.path .*missing does not exist"),
    ("customers.parquet", r"is a file, not a folder.*put it in a folder"),
])
def test_reading_a_data_path_that_is_no_data_set_folder_is_a_config_error(tmp_path, path,
                                                                          problem):
    (tmp_path / "customers.parquet").write_bytes(b"PAR1")
    value = path if path is None else str(tmp_path / path)
    data = settings_from(DataSettings, {"source": "parquet", "path": value,
                                        "extraction_date": None})
    with pytest.raises(ConfigError, match=problem):
        materialise(data, show_progress=False)
    with pytest.raises(ConfigError, match=problem):
        load_dataset(data)
