"""Settings classes as OmegaConf nodes, and settings built from plain mappings through them: the
one place a frozen settings class meets OmegaConf (the Hydra schema, a logged build to replay)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from omegaconf import DictConfig, ListConfig, OmegaConf

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
    return OmegaConf.to_object(OmegaConf.merge(structured(settings_class), dict(mapping)))


def _make_writable(node: Any) -> None:
    if isinstance(node, DictConfig):
        node._set_flag("readonly", None)
        for key in node:
            _make_writable(node._get_node(key))
    elif isinstance(node, ListConfig):
        node._set_flag("readonly", None)
        for index in range(len(node)):
            _make_writable(node._get_node(index))
