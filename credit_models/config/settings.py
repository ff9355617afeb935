"""From a composed Hydra config to the typed settings a job runs on, once, at its top.

The schema a training job registers is its settings class itself
(:func:`credit_models.workflows.structured.structured`), and ``to_settings`` builds that class
from the merged YAML and command line: each section checks itself as it is built, so every
problem a user can cause in the config surfaces here, as one :class:`ConfigError` line (exit 2),
before any data are read.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from credit_models.errors import ConfigError


def to_settings(cfg: DictConfig) -> Any:
    """The job's settings object (the class its schema names), every section checked.

    OmegaConf's type errors and the sections' own :class:`ConfigError` both become one
    :class:`ConfigError` naming the full key."""
    try:
        return OmegaConf.to_object(cfg)
    except ConfigError:
        raise
    except OmegaConfBaseException as error:
        cause = error.__cause__ or getattr(error, "__context__", None)
        if isinstance(cause, ConfigError):
            raise ConfigError(str(cause)) from None
        key = getattr(error, "full_key", None)
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"{key}: {message}" if key else message) from None
