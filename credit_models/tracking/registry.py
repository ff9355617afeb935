"""The model registry as the credit-risk team uses it: a registered model per family (``pd_xgb``,
``pd_scorecard``), its versions, and aliases naming their roles — ``champion`` (the model in use),
``challenger`` (the candidate), ``previous_champion`` (the one to fall back to).

References read the way they are written on a command line: ``pd_xgb@champion`` (an alias),
``pd_xgb/3`` (a version), ``pd_xgb`` (its latest version). A reference that does not resolve raises
:class:`RegistryError` naming what is missing and what exists.

Registry changes (alias moves and version tags) go through :func:`apply_registry_changes`: one
change of a model at a time, written down (tag ``registry_change_intent.<token>``) before its first
write, undone in-process when a write fails, and rolled back (or forward, once committed) by the
next call when its process was killed; so the registry is always either as it was or as the change
made it. Jobs refuse versions whose training run did not finish (:func:`require_finished_run`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException

from credit_models.errors import RegistryError
from credit_models.tracking.training_rows import (
    FEATURE_MATRIX_ARTIFACT,  # noqa: F401 -- where callers of the registry look it up
    LoggedTrainingRows,
    TrainingRowsError,
    logged_training_rows,
)

logger = logging.getLogger(__name__)

CHAMPION, CHALLENGER, PREVIOUS_CHAMPION = "champion", "challenger", "previous_champion"

_VERSION = re.compile(r"^[1-9][0-9]*$")


@dataclass(frozen=True)
class ModelReference:
    """A registered model and one of its versions: by alias, by number, or the latest."""

    name: str
    alias: str | None = None
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelReference:
        """``name@alias``, ``name/version`` or ``name`` (its latest version)."""
        text = str(text).strip()
        if "@" in text:
            name, _, alias = text.partition("@")
            if not name or not alias or "/" in alias:
                raise RegistryError(f"model reference {text!r}: expected name@alias")
            return cls(name, alias=alias)
        if "/" in text:
            name, _, version = text.rpartition("/")
            if not name or not _VERSION.match(version):
                raise RegistryError(
                    f"model reference {text!r}: expected name/version with a version number ≥ 1"
                )
            return cls(name, version=version)
        if not text:
            raise RegistryError("model reference is empty: expected name, name@alias or "
                                "name/version")
        return cls(text)

    @classmethod
    def of(cls, name: str, alias_or_version: str | int) -> ModelReference:
        """A version of ``name`` given by a config value: a number is a version, text an alias."""
        value = str(alias_or_version).strip()
        return cls(name, version=value) if _VERSION.match(value) else cls(name, alias=value)

    def __str__(self) -> str:
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return f"{self.name}/{self.version}" if self.version is not None else self.name


def model_uri(version: ModelVersion) -> str:
    """The URI that loads exactly this version (``models:/name/3``), whatever its aliases."""
    return f"models:/{version.name}/{version.version}"


def describe_version(version: ModelVersion) -> str:
    return f"{version.name} version {version.version}"


def version_numbers(client: MlflowClient, name: str) -> list[int]:
    """The model's version numbers, ascending."""
    escaped = name.replace("'", "\\'")
    return sorted(int(v.version) for v in client.search_model_versions(f"name = '{escaped}'"))


def versions_tagged(client: MlflowClient, name: str, tags: dict[str, str]) -> list[str]:
    """The model's versions (numbers as text, ascending) that carry every one of ``tags``."""
    escaped = name.replace("'", "\\'")
    return [str(number) for number in sorted(
        int(version.version) for version in client.search_model_versions(f"name = '{escaped}'")
        if all(version.tags.get(key) == value for key, value in tags.items()))]


def aliases(client: MlflowClient, name: str) -> dict[str, str]:
    """alias → version number (as text) of a registered model."""
    registered = _registered_model(client, name)
    return {alias: str(version) for alias, version in sorted(registered.aliases.items())}


def registry_state(client: MlflowClient, name: str) -> str:
    """One line for error messages: the model's aliases and versions."""
    current = aliases(client, name)
    alias_text = ", ".join(f"{a} → {v}" for a, v in current.items()) or "none"
    numbers = ", ".join(str(number) for number in version_numbers(client, name)) or "none"
    return f"aliases: {alias_text}; versions: {numbers}"


def _registered_model(client: MlflowClient, name: str) -> RegisteredModel:
    try:
        return client.get_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        known = sorted(model.name for model in client.search_registered_models())
        raise RegistryError(
            f"no registered model {name!r}; registered models: {', '.join(known) or 'none'}"
        ) from None


def resolve(client: MlflowClient, reference: ModelReference | str) -> ModelVersion:
    """The model version a reference names; :class:`RegistryError` when it names none."""
    if isinstance(reference, str):
        reference = ModelReference.parse(reference)
    name = reference.name
    current = aliases(client, name)   # also checks that the model exists
    if reference.alias is not None:
        if reference.alias not in current:
            raise RegistryError(
                f"registered model {name} has no alias {reference.alias!r}; "
                f"{registry_state(client, name)}"
            )
        return client.get_model_version(name, current[reference.alias])
    numbers = version_numbers(client, name)
    if not numbers:
        raise RegistryError(f"registered model {name} has no versions")
    if reference.version is None:
        return client.get_model_version(name, str(numbers[-1]))
    if int(reference.version) not in numbers:
        raise RegistryError(
            f"registered model {name} has no version {reference.version}; "
            f"{registry_state(client, name)}"
        )
    return client.get_model_version(name, reference.version)


def training_rows_of(client: MlflowClient, version: ModelVersion,
                     scratch: Path) -> LoggedTrainingRows:
    """What the version's training run logged of the rows it was developed on (customer_id,
    as_of, features, is_bad, split), downloaded under ``scratch``: the matrix, else the reference
    it is rebuilt from (:func:`credit_models.workflows.training_rows.training_rows_file`)."""
    if not version.run_id:
        raise RegistryError(f"{describe_version(version)} has no training run to read data from")
    try:
        return logged_training_rows(client, version.run_id, scratch)
    except TrainingRowsError as error:
        raise RegistryError(f"{describe_version(version)}: {error}") from error


# ---------------------------------------------------------------------------------------------
# Changes: all or nothing, one at a time, finished after a crash
# ---------------------------------------------------------------------------------------------

INTENT_TAG_PREFIX = "registry_change_intent."
"""Registered-model tag ``registry_change_intent.<token>``: a change in flight (JSON)."""
LAST_CHANGE_TAG = "last_registry_change"
"""Registered-model tag: how the latest change ended (JSON; ``outcome`` says which)."""
RUN_DECISION_TAG = "decision"
"""Tag of the run that made a change (the promotion run): its outcome."""
ROLLED_BACK_AFTER_INTERRUPTION = "rolled_back_after_interruption"
ROLLED_BACK_AFTER_ERROR = "rolled_back_after_error"
PENDING, COMMITTED = "pending", "committed"
INTENT_LEASE_SECONDS = 120.0
"""A change writes for well under a second. An intent older than this is taken as abandoned even
when its process cannot be checked (another host) or still exists (stalled, or its pid reused)."""

_ACTIVE_TOKENS: set[str] = set()
"""Changes this process is making now: an intent with this process's id and another token was
left by an earlier call whose clean-up failed."""


@dataclass(frozen=True)
class RegistryChanges:
    """What a promotion changes: ``aliases`` maps an alias to the version it must point at (None
    removes it); ``version_tags`` maps a version to the tags set on it. Applied in that order."""

    name: str
    aliases: Mapping[str, str | None] = field(default_factory=dict)
    version_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    expected_aliases: Mapping[str, str | None] = field(default_factory=dict)
    """Aliases that must still point where the caller saw them (None: absent) when the changes
    start; otherwise someone changed the registry meanwhile and nothing is applied."""
    run_id: str | None = None
    """The run making the change (the promotion run): its ``decision`` tag records the outcome,
    also when a later call finishes the change after a crash."""
    decision: str = "applied"
    """The outcome's name once every change is made (``promoted``)."""


@dataclass(frozen=True)
class RegistryState:
    """The part of a registered model a change touches: some aliases (None: absent) and some tags
    of some versions (None: absent)."""

    aliases: dict[str, str | None]
    version_tags: dict[str, dict[str, str | None]]

    @classmethod
    def target_of(cls, changes: RegistryChanges) -> RegistryState:
        return cls({alias: None if version is None else str(version)
                    for alias, version in changes.aliases.items()},
                   {str(version): {key: str(value) for key, value in tags.items()}
                    for version, tags in changes.version_tags.items()})

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> RegistryState:
        return cls(dict(data["aliases"]), {version: dict(tags) for version, tags
                                           in dict(data["version_tags"]).items()})

    def to_json(self) -> dict[str, object]:
        return {"aliases": self.aliases, "version_tags": self.version_tags}

    def describe(self) -> str:
        """``champion → 2, previous_champion → 1, challenger absent; version 2 tags
        promotion_reason, promoted_at set``."""
        parts = [", ".join(f"{alias} → {version}" if version is not None else f"{alias} absent"
                           for alias, version in self.aliases.items())]
        for version, tags in self.version_tags.items():
            present = [key for key, value in tags.items() if value is not None]
            absent = [key for key, value in tags.items() if value is None]
            text = f"version {version} tags"
            if present:
                text += f" {', '.join(present)} set"
            if absent:
                text += (" and" if present else "") + f" {', '.join(absent)} absent"
            parts.append(text)
        return "; ".join(part for part in parts if part)


@dataclass(frozen=True)
class ChangeIntent:
    """A change as written down before its first registry write: who makes it, the state before
    and the state after. Whoever finds it later with its process gone restores one of the two."""

    name: str
    token: str
    host: str
    pid: int
    started_at: datetime
    run_id: str | None
    decision: str
    status: str
    """``pending`` until every change is made, then ``committed``."""
    before: RegistryState
    after: RegistryState

    @property
    def key(self) -> str:
        return INTENT_TAG_PREFIX + self.token

    @property
    def owner(self) -> str:
        return f"process {self.pid} on {self.host}"

    def describe(self) -> str:
        run = f", run {self.run_id}" if self.run_id else ""
        return (f"change '{self.decision}' of registered model {self.name} by {self.owner}"
                f"{run}, started {self.started_at.isoformat(timespec='seconds')}")

    def to_tag(self) -> str:
        return json.dumps({
            "token": self.token, "host": self.host, "pid": self.pid,
            "started_at": self.started_at.isoformat(), "run_id": self.run_id,
            "decision": self.decision, "status": self.status,
            "before": self.before.to_json(), "after": self.after.to_json(),
        }, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_tag(cls, name: str, key: str, value: str) -> ChangeIntent:
        try:
            data = json.loads(value)
            return cls(name, data["token"], data["host"], int(data["pid"]),
                       datetime.fromisoformat(data["started_at"]), data["run_id"],
                       data["decision"], data["status"], RegistryState.from_json(data["before"]),
                       RegistryState.from_json(data["after"]))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise RegistryError(
                f"registered model {name}: tag {key} is not a change record this version can read "
                f"({type(error).__name__}: {error}); check its aliases and version tags by hand, "
                "then delete the tag"
            ) from None

    def abandoned(self, now: datetime) -> bool:
        """Its process is gone (same host) or it is older than :data:`INTENT_LEASE_SECONDS`."""
        if self.host == socket.gethostname():
            if self.pid == os.getpid() and self.token not in _ACTIVE_TOKENS:
                return True
            if self.pid != os.getpid() and not _process_exists(self.pid):
                return True
        return (now - self.started_at).total_seconds() > INTENT_LEASE_SECONDS


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:      # another user's process
        return True
    return True


class ChangeTakenOverError(RegistryError):
    """This process stalled past the lease and another call finished its change meanwhile."""


def unfinished_changes(client: MlflowClient, name: str) -> list[ChangeIntent]:
    """The intents recorded on the registered model."""
    return _intents(_registered_model(client, name))


def _intents(model: RegisteredModel) -> list[ChangeIntent]:
    return [ChangeIntent.from_tag(model.name, key, value)
            for key, value in sorted(model.tags.items()) if key.startswith(INTENT_TAG_PREFIX)]


def recover_unfinished_changes(client: MlflowClient, name: str) -> list[str]:
    """Finish each change of ``name`` whose process is gone, and say what was done (also logged).

    A change marked committed (every alias and tag written) is rolled forward; any other is rolled
    back to the state it recorded: that state was read under the change's turn, so restoring it is
    exact, whereas rolling a half-made change forward would finish a decision whose maker never
    confirmed it. A change whose process is still at work raises :class:`RegistryError`. Every
    job that reads or moves aliases calls this first."""
    now = datetime.now(UTC)
    done = []
    for intent in unfinished_changes(client, name):
        if not intent.abandoned(now):
            resumes = intent.started_at + timedelta(seconds=INTENT_LEASE_SECONDS)
            raise RegistryError(
                f"registered model {name} is being changed: {intent.describe()} has not finished; "
                f"nothing was changed. Run again when it has; if that process is gone, the first "
                f"call after {resumes.isoformat(timespec='seconds')} rolls its change back"
            )
        if intent.status == COMMITTED:
            _make_state(client, name, intent.after)
            outcome, what = intent.decision, f"completed it: {intent.after.describe()}"
        else:
            _make_state(client, name, intent.before)
            outcome, what = ROLLED_BACK_AFTER_INTERRUPTION, \
                f"rolled it back: {intent.before.describe()}"
        _close(client, intent, outcome, recovered_by=_this_process())
        message = f"registered model {name}: found the unfinished {intent.describe()} " \
                  f"(its process is gone) and {what}"
        logger.warning(message)
        done.append(message)
    return done


def apply_registry_changes(client: MlflowClient, changes: RegistryChanges) -> None:
    """Apply every change or none, one change of a registered model at a time, safe against a
    crash at any write.

    MLflow offers no compare-and-set, so a change takes its turn by announcement: it writes its
    intent as a tag of its own (``registry_change_intent.<token>``, holding the state before and
    after), then reads the model's tags back. Another intent there means another change is in
    flight: this one withdraws and raises :class:`RegistryError`. Two changes announcing at once
    may both withdraw, never both proceed: the one that reads second sees the other's tag,
    since each writes its own key and no write overwrites another's. The aliases and tags are then
    read again and must be as recorded and as ``expected_aliases`` says (the caller's check, made
    before the turn was taken, could be stale). Each write first checks that the intent is still
    there (a process that stalled past the lease finds its change taken over and stops).

    On an exception (KeyboardInterrupt included) the recorded state is restored and the error
    raised again. A process killed mid-way leaves its intent: the next call
    (:func:`recover_unfinished_changes`) rolls it back, or forward once it was marked committed.
    The outcome goes to the registered-model tag ``last_registry_change`` and to the
    ``decision`` tag of ``changes.run_id``."""
    name = changes.name
    recover_unfinished_changes(client, name)
    after = RegistryState.target_of(changes)
    _check_expected(client, changes)
    intent = ChangeIntent(name, uuid.uuid4().hex, socket.gethostname(), os.getpid(),
                          datetime.now(UTC), changes.run_id, changes.decision, PENDING,
                          _current_state(client, name, after), after)
    _ACTIVE_TOKENS.add(intent.token)
    try:
        _take_turn(client, intent, changes)
        _make_changes(client, intent)
    finally:
        _ACTIVE_TOKENS.discard(intent.token)


def _check_expected(
    client: MlflowClient, changes: RegistryChanges, current: Mapping[str, str] | None = None
) -> None:
    current = aliases(client, changes.name) if current is None else current
    found = {alias: current.get(alias) for alias in changes.expected_aliases}
    if found != dict(changes.expected_aliases):
        raise RegistryError(
            f"registered model {changes.name} changed since it was checked: expected aliases "
            f"{dict(changes.expected_aliases)}, found {found}; nothing was changed"
        )


def _take_turn(client: MlflowClient, intent: ChangeIntent, changes: RegistryChanges) -> None:
    """Announce, read back, and re-check the state now that no other change can start."""
    name = intent.name
    client.set_registered_model_tag(name, intent.key, intent.to_tag())
    try:
        model = _registered_model(client, name)
        others = [other for other in _intents(model) if other.token != intent.token]
        if others:
            raise RegistryError(
                f"registered model {name} is being changed by another call at the same moment "
                f"({'; '.join(other.describe() for other in others)}); nothing was changed. "
                "Run again when it has finished"
            )
        current = {alias: str(version) for alias, version in model.aliases.items()}
        _check_expected(client, changes, current)
        now = _current_state(client, name, intent.after, current)
        if now != intent.before:
            raise RegistryError(
                f"registered model {name} changed while this change was being prepared: it was "
                f"{intent.before.describe()}, it is now {now.describe()}; nothing was changed"
            )
    except BaseException:
        client.delete_registered_model_tag(name, intent.key)
        raise


def _make_changes(client: MlflowClient, intent: ChangeIntent) -> None:
    name = intent.name

    def still_our_turn() -> None:
        if intent.key not in _registered_model(client, name).tags:
            raise ChangeTakenOverError(
                f"registered model {name}: {intent.describe()} stalled for more than "
                f"{INTENT_LEASE_SECONDS:g} s and another call finished it meanwhile (see tag "
                f"{LAST_CHANGE_TAG}); this process stopped without writing further"
            )

    try:
        _make_state(client, name, intent.after, current=intent.before,   # checked in the turn
                    before_each_write=still_our_turn)
        still_our_turn()
        client.set_registered_model_tag(name, intent.key,
                                        replace(intent, status=COMMITTED).to_tag())
    except ChangeTakenOverError:
        raise
    except BaseException:
        _undo(client, intent)
        raise
    try:
        _close(client, intent, intent.decision, recovered_by=None)
    except MlflowException as error:
        logger.warning("registered model %s: every change was made, but recording the outcome "
                       "failed (%s); the next call records it", name, error)


def _undo(client: MlflowClient, intent: ChangeIntent) -> None:
    """Restore the recorded state after an error; if that fails too, the intent stays for the
    next call to roll back."""
    try:
        _make_state(client, intent.name, intent.before)
    except Exception as error:  # noqa: BLE001 -- reported with what is left to do
        logger.error("rollback of %s incomplete: %s", intent.name, error)
        raise RegistryError(
            f"registered model {intent.name}: a change failed and undoing it failed too "
            f"({type(error).__name__}: {error}); it is recorded in tag {intent.key}, and the next "
            f"promote, compare or set_alias of {intent.name} restores {intent.before.describe()}"
        ) from None
    try:
        _close(client, intent, ROLLED_BACK_AFTER_ERROR, recovered_by=None)
    except Exception as error:  # noqa: BLE001 -- the state is restored; the next call tidies up
        logger.warning("registered model %s: restored, but recording it failed: %s",
                       intent.name, error)
    logger.warning("registered model %s: a change failed; every change was undone", intent.name)


def _close(client: MlflowClient, intent: ChangeIntent, outcome: str, *,
           recovered_by: str | None) -> None:
    """The audit trail (registered-model tag, the run's ``decision``), then the intent goes: until
    it is gone a crash here is finished again by the next call."""
    state = intent.before if outcome in (ROLLED_BACK_AFTER_ERROR,
                                         ROLLED_BACK_AFTER_INTERRUPTION) else intent.after
    client.set_registered_model_tag(intent.name, LAST_CHANGE_TAG, json.dumps({
        "outcome": outcome, "change": intent.decision, "run_id": intent.run_id,
        "aliases": state.aliases, "started_at": intent.started_at.isoformat(timespec="seconds"),
        "started_by": intent.owner, "recovered_by": recovered_by,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }, ensure_ascii=False, separators=(",", ":")))
    if intent.run_id and outcome != ROLLED_BACK_AFTER_ERROR:    # the caller records errors
        _record_on_run(client, intent.run_id, outcome, process_gone=recovered_by is not None)
    client.delete_registered_model_tag(intent.name, intent.key)


def _record_on_run(client: MlflowClient, run_id: str, outcome: str, *, process_gone: bool) -> None:
    try:
        client.set_tag(run_id, RUN_DECISION_TAG, outcome)
        if process_gone and client.get_run(run_id).info.status == "RUNNING":
            client.set_terminated(run_id, "KILLED")
    except MlflowException as error:
        logger.warning("run %s: could not record the outcome %r: %s", run_id, outcome, error)


def _this_process() -> str:
    return f"process {os.getpid()} on {socket.gethostname()}"


def _current_state(
    client: MlflowClient, name: str, like: RegistryState,
    current: Mapping[str, str] | None = None,
) -> RegistryState:
    """The model's values of the aliases and version tags ``like`` names (``current``: the
    aliases, when just read)."""
    current = aliases(client, name) if current is None else current
    tags = {}
    for version, keys in like.version_tags.items():
        existing = client.get_model_version(name, version).tags
        tags[version] = {key: existing.get(key) for key in keys}
    return RegistryState({alias: current.get(alias) for alias in like.aliases}, tags)


def _make_state(
    client: MlflowClient, name: str, target: RegistryState, *,
    current: RegistryState | None = None, before_each_write: Callable[[], None] = lambda: None,
) -> None:
    """Write what differs from ``target`` (``current``: the state now, when just read), aliases
    first: repeating it after any interruption ends in the same state."""
    current = _current_state(client, name, target) if current is None else current
    for alias, version in target.aliases.items():
        if current.aliases[alias] == version:
            continue
        before_each_write()
        if version is None:
            client.delete_registered_model_alias(name, alias)
        else:
            client.set_registered_model_alias(name, alias, version)
    for version, tags in target.version_tags.items():
        for key, value in tags.items():
            if current.version_tags[version][key] == value:
                continue
            before_each_write()
            if value is None:
                client.delete_model_version_tag(name, version, key)
            else:
                client.set_model_version_tag(name, version, key, value)


def set_alias(client: MlflowClient, reference: ModelReference | str, alias: str) -> ModelVersion:
    """Point ``alias`` at the version ``reference`` names (moving it if it is set elsewhere)."""
    version = resolve(client, reference)
    apply_registry_changes(client, RegistryChanges(version.name, aliases={alias: version.version}))
    return client.get_model_version(version.name, version.version)


def require_finished_run(client: MlflowClient, version: ModelVersion) -> None:
    """A version whose training run did not finish (killed right after registering, or still
    running) may lack its metrics or feature matrix: compare and promote refuse it."""
    if not version.run_id:
        return
    try:
        status = client.get_run(version.run_id).info.status
    except MlflowException as error:
        raise RegistryError(
            f"{describe_version(version)}: its training run {version.run_id} cannot be read "
            f"({error.error_code}); register a version from a run that exists"
        ) from None
    if status != "FINISHED":
        raise RegistryError(
            f"{describe_version(version)}: its training run {version.run_id} is {status}, not "
            "FINISHED: the run was interrupted after registering the version (or is still "
            "running), so what it logged may be incomplete. Wait for it to finish, or train again "
            "and use the new version"
        )
