"""Monotone constraints declared by feature-name pattern: business sense the trees must respect
(more days late never lowers PD), written once in config for every feature the pattern matches."""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Mapping

import pandas as pd

from credit_models.errors import ConfigError

logger = logging.getLogger(__name__)
DIRECTIONS = (-1, 0, 1)


def monotone_directions(
    inputs: pd.DataFrame, patterns: Mapping[str, int]
) -> dict[str, int]:
    """Feature → +1 (PD never falls as it rises) or −1, from the first matching pattern.

    Categorical inputs have no order, so a pattern matching one is reported and skipped; a
    pattern that matches no input is logged (the feature may have been dropped by selection)."""
    for pattern, direction in patterns.items():
        if direction not in DIRECTIONS:
            raise ConfigError(
                f"model.monotone_constraints[{pattern!r}] must be one of {list(DIRECTIONS)}; "
                f"got {direction!r}"
            )
    directions: dict[str, int] = {}
    for pattern, direction in patterns.items():
        matched = [name for name in inputs.columns if fnmatch.fnmatchcase(name, pattern)]
        if not matched:
            logger.info("monotone constraint %r matches no model input", pattern)
        for name in matched:
            if isinstance(inputs[name].dtype, pd.CategoricalDtype):
                logger.warning("monotone constraint %r skips categorical feature %s", pattern, name)
            elif name not in directions and direction:
                directions[name] = direction
    return directions
