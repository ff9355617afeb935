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
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from credit_models.errors import ConfigError
from credit_models.paths import config_dir

SENSITIVE_REASON = "sensitive attribute"
"""The selection report's reason for a feature kept out of the model as sensitive."""
_KEYS = {"sensitive_attributes", "exclude_from_model", "approval_pd_cutoff", "age_bands",
         "min_group_rows"}


@dataclass(frozen=True)
class SensitiveAttributes:
    """Attribute name → fnmatch patterns of the features carrying it, and whether the model may
    use them."""

    patterns: Mapping[str, tuple[str, ...]]
    exclude_from_model: bool = False

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> SensitiveAttributes:
        """Parse ``{sensitive_attributes: {attribute: [pattern, …]}, exclude_from_model: bool}``
        (the other keys of the fairness group are ignored here). Rejected with a
        :class:`ConfigError`: unknown keys, an attribute without patterns, an empty pattern."""
        if not isinstance(raw, Mapping):
            raise ConfigError(f"fairness must be a mapping with sensitive_attributes; got "
                              f"{type(raw).__name__}")
        unknown = sorted(set(raw) - _KEYS)
        if unknown:
            raise ConfigError(f"fairness: unknown key(s) {unknown}; valid keys are "
                              f"{sorted(_KEYS)}")
        groups = raw.get("sensitive_attributes") or {}
        if not isinstance(groups, Mapping):
            raise ConfigError("fairness.sensitive_attributes must map each attribute to a list of "
                              f"feature-name patterns; got {groups!r}")
        patterns: dict[str, tuple[str, ...]] = {}
        for attribute, listed in groups.items():
            where = f"fairness.sensitive_attributes.{attribute}"
            if isinstance(listed, str) or not isinstance(listed, Sequence) or not listed:
                raise ConfigError(f"{where} must be a non-empty list of fnmatch patterns of "
                                  f"feature names, e.g. [customer__age__value]; got {listed!r}")
            empty = [item for item in listed if not str(item or "").strip()]
            if empty:
                raise ConfigError(f"{where} has an empty pattern; remove it")
            patterns[str(attribute)] = tuple(str(item).strip() for item in listed)
        exclude = raw.get("exclude_from_model", False)
        if not isinstance(exclude, bool):
            raise ConfigError(f"fairness.exclude_from_model must be true or false; got "
                              f"{exclude!r}")
        return cls(patterns=patterns, exclude_from_model=exclude)

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
