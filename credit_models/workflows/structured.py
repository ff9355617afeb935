"""Settings classes as OmegaConf nodes, and settings built from plain mappings through them: the
one place a frozen settings class meets OmegaConf (the Hydra schema, a logged build to replay)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, MissingMandatoryValue, OmegaConfBaseException

from credit_models.errors import ConfigError

T = TypeVar("T")


def structured(settings_class: type) -> DictConfig:
    """``settings_class`` as a structured config YAML, the command line or a mapping can merge
    into.

    OmegaConf marks the node of a frozen dataclass read-only, which would refuse every value
    merged in; the settings stay frozen once built (``OmegaConf.to_object``)."""
    node = OmegaConf.structured(settings_class)
    _make_writable(node)
    return node


def settings_from(settings_class: type[T], mapping: Mapping[str, Any]) -> T:
    """``settings_class`` built from a plain mapping (e.g. a run's logged build settings), every
    section checked as in a job."""
    try:
        node = OmegaConf.merge(structured(settings_class), dict(mapping))
    except OmegaConfBaseException as error:
        raise _config_error(error) from None
    return built(node)


def built(node: DictConfig) -> Any:
    """The settings object of a structured node, every section checked: OmegaConf's type errors
    and the sections' own :class:`ConfigError` alike become one :class:`ConfigError` naming the
    full key."""
    try:
        return OmegaConf.to_object(node)
    except OmegaConfBaseException as error:
        raise _config_error(error) from None


def _config_error(error: OmegaConfBaseException) -> ConfigError:
    cause = error.__cause__ or error.__context__
    if isinstance(cause, ConfigError):
        return ConfigError(str(cause))
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    kind = getattr(error, "object_type", None)
    if isinstance(error, ConfigKeyError) and is_dataclass(kind) and error.key is not None:
        names = [item.name for item in fields(kind)]
        close = difflib.get_close_matches(str(error.key), names, n=3)
        hint = f"did you mean {' or '.join(close)}?" if close else f"it has {', '.join(names)}"
        return ConfigError(f"{error.full_key} is not a setting of {kind.__name__}; {hint}")
    if isinstance(error, MissingMandatoryValue) and error.full_key:
        return ConfigError(f"{error.full_key} is required and has no value: give it on the "
                           f"command line ({error.full_key}=…)")
    return ConfigError(f"{error.full_key}: {message}" if error.full_key else message)


def _make_writable(node: Any) -> None:
    if isinstance(node, DictConfig):
        node._set_flag("readonly", None)
        if OmegaConf.get_type(node) is dict:
            # An open mapping (model.params, tuning.space…) takes new keys without Hydra's `+`:
            # its own settings class checks the names (a misspelt parameter is named, with the
            # close ones) instead of Hydra refusing every key it has not seen.
            node._set_flag("struct", False)
        for key in node:
            _make_writable(node._get_node(key))
    elif isinstance(node, ListConfig):
        node._set_flag("readonly", None)
        for index in range(len(node)):
            _make_writable(node._get_node(index))
