"""The configured splitter, built (and so checked) before any data are read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from credit_models.errors import ConfigError
from credit_models.split.out_of_time import OutOfTimeSplit
from credit_models.split.stratified import StratifiedCustomerSplit

Splitter = OutOfTimeSplit | StratifiedCustomerSplit

SPLITTERS: dict[str, type] = {
    "out_of_time": OutOfTimeSplit,
    "stratified": StratifiedCustomerSplit,
}


def build_splitter(config: Mapping[str, Any], seed: int) -> Splitter:
    settings = {key: value for key, value in dict(config).items() if value is not None}
    kind = settings.pop("kind", "out_of_time")
    if kind not in SPLITTERS:
        raise ConfigError(f"split.kind must be one of {sorted(SPLITTERS)}; got {kind!r}")
    allowed = set(SPLITTERS[kind].__dataclass_fields__) - {"seed"}
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise ConfigError(
            f"split.kind={kind} does not take {unknown} (set them to null); it takes "
            f"{sorted(allowed)}"
        )
    return SPLITTERS[kind](**settings, seed=seed)
