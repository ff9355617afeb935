"""A job's settings in Python, exactly as its console script would compose them.

Notebooks and scripts get the same presets, defaults and checks as the command line without
knowing Hydra: ``load_settings("train", ["model=scorecard", "split.oot_months=2"])`` is what
``credit-models-train model=scorecard split.oot_months=2`` runs on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from credit_models.config.schema import register_configs
from credit_models.config.settings import to_settings
from credit_models.paths import config_dir


def load_settings(job: str = "train", overrides: Sequence[str] = ()) -> Any:
    """The typed settings of ``job`` (a config name of ``conf/``: train, tune, limits, score…)
    with command-line style ``overrides``; a bad value raises
    :class:`~credit_models.errors.ConfigError` naming the key."""
    register_configs()
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            return to_settings(compose(config_name=job, overrides=list(overrides)))
    finally:
        GlobalHydra.instance().clear()
