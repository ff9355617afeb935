"""The model registry as the credit-risk team uses it: a registered model per family (``pd_xgb``,
``pd_scorecard``), its versions, and aliases naming their roles — ``champion`` (the model in use),
``challenger`` (the candidate), ``previous_champion`` (the one to fall back to).

References read the way they are written on a command line: ``pd_xgb@champion`` (an alias),
``pd_xgb/3`` (a version), ``pd_xgb`` (its latest version). A reference that does not resolve raises
:class:`RegistryError` naming what is missing and what exists.

Registry changes (alias moves and version tags) go through :func:`apply_registry_changes`: each
change is applied in turn and, if one fails or the process is interrupted, the ones already made
are undone, so the registry is left exactly as it was.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException

logger = logging.getLogger(__name__)

CHAMPION, CHALLENGER, PREVIOUS_CHAMPION = "champion", "challenger", "previous_champion"
FEATURE_MATRIX_ARTIFACT = "features/feature_matrix.parquet"
"""The training run's feature matrix: customer_id, as_of, the features, is_bad, split."""

_VERSION = re.compile(r"^[1-9][0-9]*$")


class RegistryError(LookupError):
    """A model reference does not resolve, or the registry cannot be changed as asked; the message
    names what is missing and what exists."""


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


def training_feature_matrix(client: MlflowClient, version: ModelVersion) -> pd.DataFrame:
    """The feature matrix the version's training run logged (every row, with is_bad and split)."""
    if not version.run_id:
        raise RegistryError(f"{describe_version(version)} has no training run to read data from")
    with tempfile.TemporaryDirectory() as scratch:
        try:
            path = client.download_artifacts(version.run_id, FEATURE_MATRIX_ARTIFACT, scratch)
        except (MlflowException, OSError) as error:
            raise RegistryError(
                f"{describe_version(version)}: its run {version.run_id} has no "
                f"{FEATURE_MATRIX_ARTIFACT} (train with mlflow.log_feature_matrix=true): {error}"
            ) from None
        return pd.read_parquet(Path(path))


# ---------------------------------------------------------------------------------------------
# Changes with rollback
# ---------------------------------------------------------------------------------------------


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


def apply_registry_changes(client: MlflowClient, changes: RegistryChanges) -> None:
    """Apply every change or none: the earlier ones are undone, in reverse order, when a later one
    fails or the process is interrupted (KeyboardInterrupt included), and the error is raised
    again. If undoing fails too, a :class:`RegistryError` says which aliases and tags to check."""
    name = changes.name
    before_aliases = aliases(client, name)
    moved = {alias: before_aliases.get(alias) for alias in changes.expected_aliases}
    if moved != dict(changes.expected_aliases):
        raise RegistryError(
            f"registered model {name} changed since it was checked: expected aliases "
            f"{dict(changes.expected_aliases)}, found {moved}; nothing was changed"
        )
    before_tags = {version: dict(client.get_model_version(name, version).tags)
                   for version in changes.version_tags}
    undo: list[tuple[str, Callable[[], None]]] = []    # (description, zero-argument undo function)
    try:
        for alias, version in changes.aliases.items():
            previous = before_aliases.get(alias)
            undo.append((f"alias {alias}", _alias_restorer(client, name, alias, previous)))
            if version is None:
                if previous is not None:
                    client.delete_registered_model_alias(name, alias)
            else:
                client.set_registered_model_alias(name, alias, version)
        for version, tags in changes.version_tags.items():
            for key, value in tags.items():
                undo.append((f"tag {key} of version {version}",
                             _tag_restorer(client, name, version, key, before_tags[version].get(key))))
                client.set_model_version_tag(name, version, key, value)
    except BaseException:
        failed = []
        for description, restore in reversed(undo):
            try:
                restore()
            except Exception as error:  # noqa: BLE001 -- undo the rest, then report each failure
                failed.append(f"{description}: {error}")
        if failed:
            logger.error("rollback of %s incomplete: %s", name, "; ".join(failed))
            raise RegistryError(
                f"registered model {name}: a change failed and undoing it failed for "
                f"{'; '.join(failed)}; the registry was {before_aliases} before"
            ) from None
        logger.warning("registered model %s: a change failed; every change was undone", name)
        raise


def _alias_restorer(
    client: MlflowClient, name: str, alias: str, version: str | None
) -> Callable[[], None]:
    def restore() -> None:
        if version is None:
            client.delete_registered_model_alias(name, alias)
        else:
            client.set_registered_model_alias(name, alias, version)
    return restore


def _tag_restorer(
    client: MlflowClient, name: str, version: str, key: str, value: str | None
) -> Callable[[], None]:
    def restore() -> None:
        if value is None:
            client.delete_model_version_tag(name, version, key)
        else:
            client.set_model_version_tag(name, version, key, value)
    return restore


def set_alias(client: MlflowClient, reference: ModelReference | str, alias: str) -> ModelVersion:
    """Point ``alias`` at the version ``reference`` names (moving it if it is set elsewhere)."""
    version = resolve(client, reference)
    apply_registry_changes(client, RegistryChanges(version.name, aliases={alias: version.version}))
    return client.get_model_version(version.name, version.version)
