"""A promotion killed at any registry write leaves, once the next call has run, the registry either
exactly as it was or exactly as the promotion makes it, and the audit trail says which.

Each case forks a child (MLflow already imported: it starts at once) that promotes version 2 over
champion 1 with the registry writes counted; the k-th write ends the process with ``os._exit(137)``
(no finally blocks, no exit handlers: what SIGKILL leaves). The parent then runs the recovery every
promote, compare and alias move starts with, and compares aliases and version tags with the two
allowed states."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow import MlflowClient

from credit_models.tracking.promotion_run import promotion_changes
from credit_models.tracking.registry import (
    INTENT_TAG_PREFIX,
    LAST_CHANGE_TAG,
    ROLLED_BACK_AFTER_INTERRUPTION,
    ModelReference,
    aliases,
    apply_registry_changes,
    recover_unfinished_changes,
)
from tests.registry_store import (
    NAME,
    PROMOTION_WRITES,
    UNPOOLED,
    build_tiny_registry,
    copy_registry,
    in_child_process,
    intercept_writes,
    wait_for,
)

KILLED = 137
PROMOTION_TAGS = {"promotion_reason": "gate passed against version 1",
                  "promoted_at": "2025-01-31T12:00:00+00:00", "gate_results": "[]",
                  "promoted_over_version": "1"}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """champion → 1, challenger → 2, version 2 promoted once before (an old promotion_reason to
    restore), and a promotion run in progress (decision=pending) as the job has it when the gate
    passed."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(*UNPOOLED)
        store = build_tiny_registry(tmp_path_factory.mktemp("registry"))
        client = MlflowClient(tracking_uri=f"sqlite:///{store}", registry_uri=f"sqlite:///{store}")
        client.set_registered_model_alias(NAME, "champion", "1")
        client.set_registered_model_alias(NAME, "challenger", "2")
        client.set_model_version_tag(NAME, "2", "promotion_reason", "promoted once in 2024")
        run = client.create_run(client.get_experiment_by_name("tests").experiment_id,
                                tags={"run_kind": "promotion", "decision": "pending"})
        client.set_registered_model_tag(NAME, "promotion_run_id", run.info.run_id)
    return store


@pytest.fixture
def registry(template: Path, tmp_path: Path, monkeypatch) -> tuple[MlflowClient, Callable]:
    """A client of a copy of the template, and a function that puts the template back in place
    (connections are not pooled: no connection outlives a call, so the file can be swapped)."""
    monkeypatch.setenv(*UNPOOLED)
    client = copy_registry(template, tmp_path)

    def reset() -> None:
        shutil.copyfile(template, tmp_path / "mlflow.db")

    return client, reset


def promotion_run_id(client: MlflowClient) -> str:
    return client.get_registered_model(NAME).tags["promotion_run_id"]


def promote_version_2(client: MlflowClient) -> None:
    """What credit-models-promote does once the gate passed, with the job's own change set."""
    run_id = promotion_run_id(client)
    changes = promotion_changes(
        NAME, client.get_model_version(NAME, "2"), client.get_model_version(NAME, "1"),
        ModelReference(NAME, alias="challenger"), "champion",
        {**PROMOTION_TAGS, "promotion_run_id": run_id}, aliases(client, NAME), run_id=run_id)
    apply_registry_changes(client, changes)


def snapshot(client: MlflowClient) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Aliases and every version's tags."""
    return aliases(client, NAME), {
        version: dict(client.get_model_version(NAME, version).tags) for version in "123"}


def old_state() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    return ({"champion": "1", "challenger": "2"},
            {"1": {}, "2": {"promotion_reason": "promoted once in 2024"}, "3": {}})


def new_state(run_id: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    return ({"champion": "2", "previous_champion": "1"},
            {"1": {}, "2": {**PROMOTION_TAGS, "promotion_run_id": run_id}, "3": {}})


def count_writes(calls: list[str], stop_at: int | None = None,
                 stop: Callable[[], None] = lambda: os._exit(KILLED)) -> None:
    """Record every write of a promotion; the ``stop_at``-th runs ``stop`` (by default: dies)."""
    intercept_writes(PROMOTION_WRITES, calls, stop_at, stop)


def intents_left(client: MlflowClient) -> list[str]:
    return [key for key in client.get_registered_model(NAME).tags
            if key.startswith(INTENT_TAG_PREFIX)]


def test_a_kill_at_any_write_leaves_the_old_or_the_new_state(registry, monkeypatch):
    # The writes of an uninterrupted promotion, in order.
    client, reset = registry
    calls: list[str] = []
    with monkeypatch.context() as patch:
        for method in PROMOTION_WRITES:
            patch.setattr(MlflowClient, method, getattr(MlflowClient, method))
        count_writes(calls)
        promote_version_2(client)
    run_id = promotion_run_id(client)
    assert snapshot(client) == new_state(run_id)
    writes = len(calls)
    assert calls[0] == "set_registered_model_tag" and calls[-1] == "delete_registered_model_tag"
    commit = 1 + calls[1:].index("set_registered_model_tag") + 1     # the intent marked committed

    outcomes = []
    for k in range(1, writes + 1):
        reset()

        def killed_at_write_k(k: int = k) -> None:
            count_writes([], stop_at=k)
            promote_version_2(client)

        assert in_child_process(killed_at_write_k) == KILLED, f"write {k}"
        recovered = recover_unfinished_changes(client, NAME)
        state = snapshot(client)
        run = client.get_run(run_id)
        audit = client.get_registered_model(NAME).tags.get(LAST_CHANGE_TAG)
        outcome = json.loads(audit)["outcome"] if audit else None
        outcomes.append(f"kill at write {k:2d} ({calls[k - 1]}): "
                        f"{'new' if state == new_state(run_id) else 'old'} state, "
                        f"audit {outcome}, run decision {run.data.tags['decision']}, "
                        f"run {run.info.status}")
        assert intents_left(client) == [], f"write {k}"
        if k == 1:                              # killed before writing anything
            assert state == old_state() and recovered == [] and outcome is None
            assert run.data.tags["decision"] == "pending"
        elif k <= commit:                       # not committed: rolled back exactly
            assert state == old_state(), f"write {k}"
            assert outcome == ROLLED_BACK_AFTER_INTERRUPTION
            assert run.data.tags["decision"] == ROLLED_BACK_AFTER_INTERRUPTION
            assert run.info.status == "KILLED"
            assert "rolled it back: champion → 1" in recovered[0]
        else:                                   # committed: completed
            assert state == new_state(run_id), f"write {k}"
            assert outcome == "promoted" and run.data.tags["decision"] == "promoted"
            assert "completed it: champion → 2" in recovered[0]
    print("\n".join(outcomes))             # shown with -s or -rP


def test_a_real_sigkill_between_alias_moves_is_rolled_back(registry):
    client, _ = registry
    run_id = promotion_run_id(client)
    ready_read, ready_write = os.pipe()
    never_read, _never_write = os.pipe()    # nothing is written: the child waits for SIGKILL

    def stop_and_wait() -> None:
        os.write(ready_write, b"x")
        os.read(never_read, 1)

    pid = os.fork()
    if pid == 0:                        # pragma: no cover -- measured in the parent
        try:
            count_writes([], stop_at=3, stop=stop_and_wait)   # champion moved, not previous
            promote_version_2(client)
        finally:
            os._exit(99)
    if not select.select([ready_read], [], [], 60)[0]:
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the promotion never reached its third write")
    os.read(ready_read, 1)
    assert aliases(client, NAME)["champion"] == "2"            # half done
    os.kill(pid, signal.SIGKILL)
    assert wait_for(pid) == -signal.SIGKILL
    recovered = recover_unfinished_changes(client, NAME)
    assert len(recovered) == 1 and f"process {pid}" in recovered[0]
    assert snapshot(client) == old_state()
    assert client.get_run(run_id).data.tags["decision"] == ROLLED_BACK_AFTER_INTERRUPTION
    promote_version_2(client)                 # the re-run promotes, it is not "already champion"
    assert snapshot(client) == new_state(run_id)
