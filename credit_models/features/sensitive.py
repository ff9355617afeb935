"""Sensitive (protected) customer attributes: which features carry age, gender, marital status,
ethnicity, national origin or religion (``conf/fairness/default.yaml``).

One definition serves three uses, so they cannot disagree: such a feature is never a reason code
a customer is told (:func:`~credit_models.explain.reason_codes.reason_codes` skips it), it may be
kept out of the model altogether (``exclude_from_model``: the feature selection drops it with the
reason :data:`SENSITIVE_REASON`), and the fairness review groups customers by it
(:mod:`credit_models.evaluation.fairness`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from itertools import pairwise
from typing import Any

import yaml

from credit_models.errors import ConfigError
from credit_models.paths import config_dir

SENSITIVE_REASON = "sensitive attribute"
"""The selection report's reason for a feature kept out of the model as sensitive."""


@dataclass(frozen=True)
class FairnessSettings:
    """``conf/fairness/*.yaml``: the sensitive attributes (never a customer's reason; optionally
    no model input) and the fairness review's approval cut-off, age bands and smallest group
    shown. Checked when built."""

    sensitive_attributes: dict[str, list[str]] = field(default_factory=dict)
    """Attribute → fnmatch patterns of the feature names that carry it."""
    exclude_from_model: bool = False
    approval_pd_cutoff: float = 0.10
    age_bands: list[float] = field(default_factory=lambda: [25.0, 35.0, 45.0, 55.0])
    min_group_rows: int = 10

    def __post_init__(self) -> None:
        if not isinstance(self.sensitive_attributes, Mapping):
            raise ConfigError("fairness.sensitive_attributes must map each attribute to a list of "
                              f"feature-name patterns; got {self.sensitive_attributes!r}")
        for attribute, listed in self.sensitive_attributes.items():
            where = f"fairness.sensitive_attributes.{attribute}"
            if isinstance(listed, str) or not isinstance(listed, Sequence) or not listed:
                raise ConfigError(f"{where} must be a non-empty list of fnmatch patterns of "
                                  f"feature names, e.g. [customer__age__value]; got {listed!r}")
            if any(not str(item or "").strip() for item in listed):
                raise ConfigError(f"{where} has an empty pattern; remove it")
        if not isinstance(self.exclude_from_model, bool):
            raise ConfigError(f"fairness.exclude_from_model must be true or false; got "
                              f"{self.exclude_from_model!r}")
        if not 0.0 < self.approval_pd_cutoff < 1.0:
            raise ConfigError(f"fairness.approval_pd_cutoff must be in (0, 1); got "
                              f"{self.approval_pd_cutoff!r}")
        bands = list(self.age_bands)
        if any(later <= earlier for earlier, later in pairwise(bands)):
            raise ConfigError(f"fairness.age_bands must be increasing; got {bands}")
        if self.min_group_rows < 1:
            raise ConfigError(f"fairness.min_group_rows must be at least 1; got "
                              f"{self.min_group_rows!r}")

    @property
    def sensitive(self) -> SensitiveAttributes:
        """Which features carry a sensitive attribute, and whether the model may use them."""
        return SensitiveAttributes(
            patterns={str(attribute): tuple(str(item).strip() for item in listed)
                      for attribute, listed in self.sensitive_attributes.items()},
            exclude_from_model=self.exclude_from_model,
        )


@dataclass(frozen=True)
class SensitiveAttributes:
    """Attribute name → fnmatch patterns of the features carrying it, and whether the model may
    use them."""

    patterns: Mapping[str, tuple[str, ...]]
    exclude_from_model: bool = False

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> SensitiveAttributes:
        """The sensitive attributes of a plain ``fairness`` mapping (a served model's files, or
        the whole group), checked as :class:`FairnessSettings` checks them."""
        if not isinstance(raw, Mapping):
            raise ConfigError(f"fairness must be a mapping with sensitive_attributes; got "
                              f"{type(raw).__name__}")
        keys = {item.name for item in fields(FairnessSettings)}
        unknown = sorted(set(raw) - keys)
        if unknown:
            raise ConfigError(f"fairness: unknown key(s) {unknown}; valid keys are "
                              f"{sorted(keys)}")
        return FairnessSettings(**{**dict(raw), "sensitive_attributes":
                                   raw.get("sensitive_attributes") or {}}).sensitive

    @classmethod
    def default(cls) -> SensitiveAttributes:
        """``conf/fairness/default.yaml``."""
        return _default()

    def to_config(self) -> dict[str, Any]:
        """The plain mapping :meth:`from_config` reads (for a served model's files)."""
        return {"sensitive_attributes": {name: list(items) for name, items in
                                         self.patterns.items()},
                "exclude_from_model": self.exclude_from_model}

    def attribute_of(self, feature: str) -> str | None:
        """The attribute ``feature`` carries (the first whose pattern matches), or None."""
        return next((attribute for attribute, items in self.patterns.items()
                     if any(fnmatch.fnmatchcase(feature, pattern) for pattern in items)), None)

    def features(self, names: Iterable[str]) -> dict[str, str]:
        """The sensitive features among ``names`` (in their order) → the attribute each carries."""
        found = {str(name): self.attribute_of(str(name)) for name in names}
        return {name: attribute for name, attribute in found.items() if attribute is not None}

    def excluded_from_model(self, names: Iterable[str]) -> dict[str, str]:
        """Feature → :data:`SENSITIVE_REASON` for each sensitive feature among ``names`` when
        the model must not use them; empty otherwise."""
        if not self.exclude_from_model:
            return {}
        return {name: f"{SENSITIVE_REASON} ({attribute})"
                for name, attribute in self.features(names).items()}


@lru_cache(maxsize=1)
def _default() -> SensitiveAttributes:
    path = config_dir() / "fairness" / "default.yaml"
    return SensitiveAttributes.from_config(yaml.safe_load(path.read_text(encoding="utf-8")))
