"""Model references, alias moves with rollback, and a version's training data, on a throwaway
SQLite registry (versions point at a run; no model files are needed)."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from credit_models.tracking.registry import (
    COMMITTED,
    FEATURE_MATRIX_ARTIFACT,
    INTENT_LEASE_SECONDS,
    INTENT_TAG_PREFIX,
    LAST_CHANGE_TAG,
    PENDING,
    ChangeIntent,
    ModelReference,
    RegistryChanges,
    RegistryError,
    RegistryState,
    aliases,
    apply_registry_changes,
    require_finished_run,
    resolve,
    set_alias,
    training_rows_of,
)
from tests.registry_store import NAME, build_tiny_registry, copy_registry


@pytest.fixture(scope="module")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pd_xgb with versions 1, 2, 3 (each from its own run; run 1 logged a feature matrix) and
    alias challenger → 3. Built once; each test gets a copy."""
    return build_tiny_registry(tmp_path_factory.mktemp("registry"))


@pytest.fixture
def client(template_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    monkeypatch.chdir(tmp_path)
    client = copy_registry(template_store, tmp_path)
    mlflow.set_tracking_uri(client.tracking_uri)
    return client


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


def test_training_data_of_a_version_is_its_runs_feature_matrix(client, tmp_path):
    logged = training_rows_of(client, resolve(client, "pd_xgb/1"), tmp_path / "rows")
    matrix = pd.read_parquet(logged.matrix_file)
    assert list(matrix.columns) == ["customer_id", "x", "is_bad", "split"]
    assert len(matrix) == 2
    with pytest.raises(RegistryError, match=FEATURE_MATRIX_ARTIFACT):
        training_rows_of(client, resolve(client, "pd_xgb/2"), tmp_path / "rows")


# ---------------------------------------------------------------------------------------------
# One change at a time, written down first (the crash tests are in test_promotion_crash_safety)
# ---------------------------------------------------------------------------------------------


def model_tags(client: MlflowClient) -> dict[str, str]:
    return dict(client.get_registered_model(NAME).tags)


def half_done_intent(client: MlflowClient, *, host: str, pid: int, started_at: datetime,
                     status: str = PENDING) -> ChangeIntent:
    """An intent for champion → 2 (challenger 3 unchanged) whose first alias write was made."""
    intent = ChangeIntent(
        NAME, "f" * 32, host, pid, started_at, None, "promoted", status,
        before=RegistryState({"champion": "1", "previous_champion": None}, {"2": {"note": None}}),
        after=RegistryState({"champion": "2", "previous_champion": "1"}, {"2": {"note": "new"}}),
    )
    client.set_registered_model_alias(NAME, "champion", "2")       # the one write made
    client.set_registered_model_tag(NAME, intent.key, intent.to_tag())
    return intent


def test_a_change_is_written_down_before_its_first_write_and_cleared_after(client, monkeypatch):
    client.set_registered_model_alias(NAME, "champion", "1")
    seen = []
    original = MlflowClient.set_registered_model_alias

    def record_intents(self, name, alias, version):
        seen.append([json.loads(value) for key, value in model_tags(client).items()
                     if key.startswith(INTENT_TAG_PREFIX)])
        return original(self, name, alias, version)

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", record_intents)
    apply_registry_changes(client, RegistryChanges(
        NAME, aliases={"champion": "3", "previous_champion": "1"},
        version_tags={"3": {"promotion_reason": "test"}}, decision="promoted"))
    monkeypatch.undo()
    first = seen[0]
    assert len(first) == 1 and first[0]["status"] == PENDING and first[0]["pid"] == os.getpid()
    assert first[0]["before"] == {"aliases": {"champion": "1", "previous_champion": None},
                                  "version_tags": {"3": {"promotion_reason": None}}}
    assert first[0]["after"]["aliases"] == {"champion": "3", "previous_champion": "1"}
    tags = model_tags(client)
    assert not [key for key in tags if key.startswith(INTENT_TAG_PREFIX)]
    assert json.loads(tags[LAST_CHANGE_TAG])["outcome"] == "promoted"


def test_a_change_in_progress_elsewhere_blocks_another(client):
    """The parent process is alive: its unfinished change is not touched."""
    half_done_intent(client, host=socket.gethostname(), pid=os.getppid(),
                     started_at=datetime.now(UTC))
    with pytest.raises(RegistryError, match="is being changed: change 'promoted' of registered "
                                            f"model {NAME} by process {os.getppid()}"):
        set_alias(client, "pd_xgb/1", "challenger")
    assert aliases(client, NAME) == {"champion": "2", "challenger": "3"}


def test_an_intent_from_another_host_is_waited_for_until_its_lease_ends(client):
    half_done_intent(client, host="elsewhere", pid=1, started_at=datetime.now(UTC))
    with pytest.raises(RegistryError, match="has not finished; nothing was changed"):
        set_alias(client, "pd_xgb/1", "challenger")

    client.delete_registered_model_tag(NAME, INTENT_TAG_PREFIX + "f" * 32)
    long_ago = datetime.now(UTC) - timedelta(seconds=INTENT_LEASE_SECONDS + 1)
    half_done_intent(client, host="elsewhere", pid=1, started_at=long_ago)
    set_alias(client, "pd_xgb/1", "challenger")      # rolls the stale change back, then moves
    assert aliases(client, NAME) == {"champion": "1", "challenger": "1"}
    assert "note" not in client.get_model_version(NAME, "2").tags
    assert not any(key.startswith(INTENT_TAG_PREFIX) for key in model_tags(client))


def test_a_committed_change_is_completed_and_a_pending_one_undone(client):
    gone = datetime.now(UTC) - timedelta(seconds=INTENT_LEASE_SECONDS + 1)
    half_done_intent(client, host="elsewhere", pid=1, started_at=gone, status=COMMITTED)
    set_alias(client, "pd_xgb/3", "challenger")
    assert aliases(client, NAME) == {"champion": "2", "previous_champion": "1",
                                     "challenger": "3"}
    assert client.get_model_version(NAME, "2").tags == {"note": "new"}

    client.set_registered_model_alias(NAME, "champion", "1")
    client.delete_registered_model_alias(NAME, "previous_champion")
    client.delete_model_version_tag(NAME, "2", "note")
    half_done_intent(client, host="elsewhere", pid=1, started_at=gone, status=PENDING)
    set_alias(client, "pd_xgb/3", "challenger")
    assert aliases(client, NAME) == {"champion": "1", "challenger": "3"}
    record = json.loads(model_tags(client)[LAST_CHANGE_TAG])
    assert record["outcome"] == "applied"           # the set_alias made after the recovery


def test_an_unreadable_intent_tag_is_named(client):
    client.set_registered_model_tag(NAME, INTENT_TAG_PREFIX + "x", "{not json")
    with pytest.raises(RegistryError, match=f"tag {INTENT_TAG_PREFIX}x is not a change record"):
        set_alias(client, "pd_xgb/1", "champion")


def test_a_version_whose_run_did_not_finish_is_refused(client):
    run = client.create_run(client.get_experiment_by_name("tests").experiment_id)
    version = client.create_model_version(NAME, f"runs:/{run.info.run_id}/model",
                                          run.info.run_id)
    with pytest.raises(RegistryError) as raised:
        require_finished_run(client, version)
    assert str(raised.value).startswith(
        f"pd_xgb version 4: its training run {run.info.run_id} is RUNNING, not FINISHED")
    require_finished_run(client, resolve(client, "pd_xgb/3"))
