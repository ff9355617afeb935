"""Model references, alias moves with rollback, and a version's training data, on a throwaway
SQLite registry (versions point at a run; no model files are needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from credit_models.tracking.registry import (
    FEATURE_MATRIX_ARTIFACT,
    ModelReference,
    RegistryChanges,
    RegistryError,
    aliases,
    apply_registry_changes,
    resolve,
    set_alias,
    training_feature_matrix,
)

NAME = "pd_xgb"


@pytest.fixture(scope="module")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pd_xgb with versions 1, 2, 3 (each from its own run; run 1 logged a feature matrix) and
    alias challenger → 3. Built once (creating an MLflow database takes seconds); each test gets
    a copy."""
    folder = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("tests", artifact_location=(folder / "art").as_uri())
    client.create_registered_model(NAME)
    for number in (1, 2, 3):
        run = client.create_run(experiment)
        if number == 1:
            matrix = folder / "feature_matrix.parquet"
            pd.DataFrame({"customer_id": [1, 2], "x": [0.5, 1.5], "is_bad": [0, 1],
                          "split": ["dev", "oot"]}).to_parquet(matrix)
            client.log_artifact(run.info.run_id, str(matrix), "features")
        client.set_terminated(run.info.run_id)
        client.create_model_version(NAME, f"runs:/{run.info.run_id}/model", run.info.run_id)
    client.set_registered_model_alias(NAME, "challenger", "3")
    return folder / "mlflow.db"


@pytest.fixture
def client(template_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "mlflow.db"
    shutil.copyfile(template_store, store)
    uri = f"sqlite:///{store}"
    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.mark.parametrize("text,expected", [
    ("pd_xgb@champion", ModelReference("pd_xgb", alias="champion")),
    ("pd_xgb/3", ModelReference("pd_xgb", version="3")),
    ("pd_xgb", ModelReference("pd_xgb")),
    (" pd_scorecard@previous_champion ", ModelReference("pd_scorecard", alias="previous_champion")),
])
def test_references_parse_as_written_on_a_command_line(text, expected):
    reference = ModelReference.parse(text)
    assert reference == expected
    assert ModelReference.parse(str(reference)) == reference


@pytest.mark.parametrize("text", ["@champion", "pd_xgb@", "pd_xgb/0", "pd_xgb/three", "/2", ""])
def test_malformed_references_say_what_was_expected(text):
    with pytest.raises(RegistryError, match="expected"):
        ModelReference.parse(text)


def test_a_config_value_is_a_version_when_it_is_a_number():
    assert ModelReference.of(NAME, 3) == ModelReference(NAME, version="3")
    assert ModelReference.of(NAME, "12") == ModelReference(NAME, version="12")
    assert ModelReference.of(NAME, "challenger") == ModelReference(NAME, alias="challenger")


def test_references_resolve_to_versions(client):
    assert str(resolve(client, "pd_xgb@challenger").version) == "3"
    assert str(resolve(client, "pd_xgb/2").version) == "2"
    assert str(resolve(client, "pd_xgb").version) == "3"     # the latest


def test_a_missing_alias_names_the_aliases_and_versions_that_exist(client):
    with pytest.raises(RegistryError) as raised:
        resolve(client, "pd_xgb@champion")
    assert str(raised.value) == (
        "registered model pd_xgb has no alias 'champion'; aliases: challenger → 3; "
        "versions: 1, 2, 3"
    )


def test_a_missing_version_and_a_missing_model_are_named(client):
    with pytest.raises(RegistryError, match="has no version 7; aliases: challenger → 3; "
                                            "versions: 1, 2, 3"):
        resolve(client, "pd_xgb/7")
    with pytest.raises(RegistryError, match="no registered model 'pd_scorecard'; registered "
                                            "models: pd_xgb"):
        resolve(client, "pd_scorecard@champion")


def test_set_alias_moves_an_alias(client):
    set_alias(client, "pd_xgb/1", "champion")
    set_alias(client, "pd_xgb/2", "challenger")
    assert aliases(client, NAME) == {"champion": "1", "challenger": "2"}


def test_changes_are_applied_in_one_go(client):
    apply_registry_changes(client, RegistryChanges(
        NAME, aliases={"champion": "3", "previous_champion": "1", "challenger": None},
        version_tags={"3": {"promotion_reason": "test"}},
    ))
    assert aliases(client, NAME) == {"champion": "3", "previous_champion": "1"}
    assert client.get_model_version(NAME, "3").tags == {"promotion_reason": "test"}


def test_a_failed_alias_move_undoes_the_earlier_ones(client, monkeypatch):
    client.set_registered_model_alias(NAME, "champion", "1")
    before = aliases(client, NAME)
    calls = []
    original = MlflowClient.set_registered_model_alias

    def fail_on_second_call(self, name, alias, version):
        calls.append((alias, version))
        if len(calls) == 2:
            raise RuntimeError("registry unavailable")
        return original(self, name, alias, version)

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", fail_on_second_call)
    with pytest.raises(RuntimeError, match="registry unavailable"):
        apply_registry_changes(client, RegistryChanges(
            NAME, aliases={"champion": "3", "previous_champion": "1", "challenger": None},
            version_tags={"3": {"promotion_reason": "test"}},
        ))
    monkeypatch.undo()
    assert aliases(client, NAME) == before
    assert client.get_model_version(NAME, "3").tags == {}
    assert calls[:2] == [("champion", "3"), ("previous_champion", "1")]


def test_an_interrupted_change_is_undone_tags_included(client, monkeypatch):
    client.set_model_version_tag(NAME, "2", "promotion_reason", "earlier")
    before_aliases = aliases(client, NAME)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    set_tag = MlflowClient.set_model_version_tag
    calls = []

    def interrupt_second_tag(self, name, version, key, value):
        calls.append(key)
        if len(calls) == 2:
            interrupted()
        return set_tag(self, name, version, key, value)

    monkeypatch.setattr(MlflowClient, "set_model_version_tag", interrupt_second_tag)
    with pytest.raises(KeyboardInterrupt):
        apply_registry_changes(client, RegistryChanges(
            NAME, aliases={"champion": "2", "challenger": None},
            version_tags={"2": {"promotion_reason": "new", "promoted_at": "now"}},
        ))
    monkeypatch.undo()
    assert aliases(client, NAME) == before_aliases
    assert client.get_model_version(NAME, "2").tags == {"promotion_reason": "earlier"}


def test_nothing_changes_when_the_registry_moved_since_it_was_checked(client):
    with pytest.raises(RegistryError, match="changed since it was checked"):
        apply_registry_changes(client, RegistryChanges(
            NAME, aliases={"champion": "2"}, expected_aliases={"challenger": "2"},
        ))
    assert aliases(client, NAME) == {"challenger": "3"}


def test_training_data_of_a_version_is_its_runs_feature_matrix(client):
    matrix = training_feature_matrix(client, resolve(client, "pd_xgb/1"))
    assert list(matrix.columns) == ["customer_id", "x", "is_bad", "split"]
    assert len(matrix) == 2
    with pytest.raises(RegistryError, match=FEATURE_MATRIX_ARTIFACT):
        training_feature_matrix(client, resolve(client, "pd_xgb/2"))
