"""From a composed Hydra config to the typed settings a job runs on, once, at its top.

The schema a training job registers is its settings class itself
(:func:`credit_models.workflows.structured.structured`), and ``to_settings`` builds that class
from the merged YAML and command line: each section checks itself as it is built, so every
problem a user can cause in the config surfaces here, as one :class:`ConfigError` line (exit 2),
before any data are read.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from credit_models.workflows.structured import built


def to_settings(cfg: DictConfig) -> Any:
    """The job's settings object (the class its schema names), every section checked; a broken
    value is one :class:`ConfigError` naming the full key (exit 2)."""
    return built(cfg)
