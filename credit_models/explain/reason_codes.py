"""Reason codes: for each customer, the features that push their PD up most, in words.

A :class:`ReasonDictionary` (``conf/reasons/*.yaml``) maps feature names to a reason code and a
Chinese and an English text, by fnmatch pattern, first match wins. An entry may say which side of
the feature's typical value its text describes (``direction``) and give the text for the other
side (``otherwise``) and for a missing value (``missing``): "a short history" when few orders
raise the PD, "many purchases" when many do. The typical value is the median of a reference
sample (e.g. the development split, :func:`reference_values`); without one the entry's main text
is used.

:func:`reason_codes` turns per-row contributions (log-odds from
:func:`~credit_models.explain.contributions.model_contributions`, or a scorecard's points lost,
:func:`scorecard_reason_codes`) into a long table: only features that raise the PD (contribution
> 0), features sharing a code merged into one reason with their contributions summed, ranked, the
top ``top_k`` per row. A feature without a dictionary entry is never dropped nor left blank: it is
reported with code ``UNMAPPED`` and its description as text. :func:`wide_reason_codes` pivots the
long table to one row per customer for serving.

A sensitive attribute (age, gender, marital status…: :class:`~credit_models.features.sensitive.
SensitiveAttributes`, ``conf/fairness/default.yaml`` unless given) is never a reason, whatever it
contributes: telling a customer that their age held their limit back is not an adverse-action
reason a lender may give. The next feature takes its rank.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from credit_models.errors import ConfigError
from credit_models.explain.contributions import Contributions
from credit_models.features.sensitive import SensitiveAttributes
from credit_models.paths import config_dir

UNMAPPED = "UNMAPPED"
"""The code of a feature no dictionary entry matches."""
UNMAPPED_ZH_PREFIX = "其他因素："
_CONTRADICTED = 3
"""A cell whose value contradicts its entry's directional text (see :func:`reason_codes`)."""
LOG_ODDS = "log-odds"
POINTS_LOST = "points lost"
REASON_COLUMNS = ("rank", "feature", "value", "contribution", "code", "text_zh", "text_en",
                  "detail", "features", "unit")
"""The long table's columns after the row identifiers (the input index's levels)."""


class Language(str, Enum):
    """Which texts a reason table gives (``explain.language`` in the config)."""

    zh = "zh"
    en = "en"
    both = "both"


class Direction(str, Enum):
    """Which side of the feature's typical value an entry's text describes."""

    any = "any"
    high = "high"
    low = "low"


@dataclass(frozen=True)
class ReasonText:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class ReasonEntry:
    """One dictionary entry: which features, and what to say about them."""

    pattern: str
    text: ReasonText
    direction: Direction = Direction.any
    otherwise: ReasonText | None = None
    missing: ReasonText | None = None

    def matches(self, feature: str) -> bool:
        return fnmatch.fnmatchcase(feature, self.pattern)

    def texts(self) -> list[ReasonText]:
        return [text for text in (self.text, self.otherwise, self.missing) if text is not None]


_ENTRY_KEYS = {"pattern", "code", "zh", "en", "direction", "otherwise", "missing"}
_TEXT_KEYS = {"code", "zh", "en"}


@dataclass(frozen=True)
class ReasonDictionary:
    """Reason entries in matching order; build with :meth:`from_config` (checked) or
    :meth:`default`."""

    name: str
    entries: tuple[ReasonEntry, ...]

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> ReasonDictionary:
        """Parse and check ``{name, entries: [...]}``: any mapping of mappings and sequences (a
        dict from YAML, or the job's config node, read as it is: no config library needed here).

        Rejected with a :class:`ConfigError` naming the entry: a missing or empty pattern, code
        or text, an unknown key or direction, the reserved code ``UNMAPPED``, ``otherwise``
        without a direction, and one code given two different texts."""
        if not isinstance(raw, Mapping):
            raise ConfigError(f"reasons must be a mapping with 'entries'; got {type(raw).__name__}")
        items = raw.get("entries")
        if not isinstance(items, Sequence) or isinstance(items, str) or not items:
            raise ConfigError("reasons.entries must be a non-empty list of entries; got "
                              f"{items!r}")
        entries = tuple(_parse_entry(item, index) for index, item in enumerate(items))
        _check_codes(entries)
        return cls(name=str(raw.get("name", "custom")), entries=entries)

    @classmethod
    def from_file(cls, path: str | Path) -> ReasonDictionary:
        """A dictionary from a YAML file (``conf/reasons/*.yaml``)."""
        return cls.from_config(yaml.safe_load(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def default(cls) -> ReasonDictionary:
        """``conf/reasons/default.yaml``."""
        return cls.from_config(cls.default_config())

    @staticmethod
    def default_config() -> dict[str, Any]:
        """``conf/reasons/default.yaml`` as written (what a model that ships the dictionary
        stores)."""
        return yaml.safe_load((config_dir() / "reasons" / "default.yaml").read_text(
            encoding="utf-8"))

    def entry_for(self, feature: str) -> ReasonEntry | None:
        """The first entry whose pattern matches ``feature``."""
        return next((entry for entry in self.entries if entry.matches(feature)), None)

    def codes(self) -> dict[str, ReasonText]:
        """Every code the dictionary can give, with its texts."""
        return {text.code: text for entry in self.entries for text in entry.texts()}


def _parse_text(raw: Any, where: str) -> ReasonText:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping with code, zh and en; got {raw!r}")
    unknown = sorted(set(raw) - _TEXT_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys are {sorted(_TEXT_KEYS)}")
    values = {}
    for key in ("code", "zh", "en"):
        value = raw.get(key)
        if value is None or not str(value).strip():
            raise ConfigError(f"{where}: {key} is empty; every reason needs a code and a text "
                              f"in both languages")
        values[key] = str(value).strip()
    if values["code"] == UNMAPPED:
        raise ConfigError(f"{where}: the code {UNMAPPED} is reserved for features without an entry")
    return ReasonText(**values)


def _parse_entry(raw: Any, index: int) -> ReasonEntry:
    pattern = raw.get("pattern") if isinstance(raw, Mapping) else None
    where = f"reasons.entries[{index}]" + (f" (pattern {pattern!r})" if pattern else "")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping; got {raw!r}")
    unknown = sorted(set(raw) - _ENTRY_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys are "
                          f"{sorted(_ENTRY_KEYS)}")
    if not pattern or not str(pattern).strip():
        raise ConfigError(f"{where}: pattern is empty; give an fnmatch pattern of feature names")
    text = _parse_text({key: raw.get(key) for key in _TEXT_KEYS}, where)
    direction = raw.get("direction") or Direction.any.value
    direction = getattr(direction, "value", direction)
    if direction not in [member.value for member in Direction]:
        raise ConfigError(f"{where}: direction must be one of "
                          f"{[member.value for member in Direction]}; got {direction!r}")
    otherwise = raw.get("otherwise")
    if otherwise is not None and direction == Direction.any.value:
        raise ConfigError(f"{where}: 'otherwise' needs a direction (high or low) to tell the "
                          f"two sides apart")
    return ReasonEntry(
        pattern=str(pattern).strip(), text=text, direction=Direction(direction),
        otherwise=None if otherwise is None else _parse_text(otherwise, f"{where}.otherwise"),
        missing=(None if raw.get("missing") is None
                 else _parse_text(raw.get("missing"), f"{where}.missing")),
    )


def _check_codes(entries: Sequence[ReasonEntry]) -> None:
    seen: dict[str, tuple[ReasonText, str]] = {}
    for index, entry in enumerate(entries):
        where = f"reasons.entries[{index}] (pattern {entry.pattern!r})"
        for text in entry.texts():
            if text.code not in seen:
                seen[text.code] = (text, where)
                continue
            first, first_where = seen[text.code]
            if (first.zh, first.en) != (text.zh, text.en):
                raise ConfigError(
                    f"reason code {text.code} has two different texts: {first_where} says "
                    f"{first.zh!r} / {first.en!r}, {where} says {text.zh!r} / {text.en!r}; "
                    f"give each text its own code"
                )


def unmapped_features(
    features: Iterable[str], dictionary: ReasonDictionary | None = None
) -> list[str]:
    """The features no entry of ``dictionary`` (default: ``conf/reasons/default.yaml``) matches,
    in the given order: they would be reported as ``UNMAPPED``."""
    dictionary = ReasonDictionary.default() if dictionary is None else dictionary
    return [name for name in features if dictionary.entry_for(name) is None]


def reference_values(inputs: pd.DataFrame) -> pd.Series:
    """Each numeric feature's median (missing values ignored): the typical value a reason's
    direction is judged against. Categorical features have none."""
    numeric = [name for name in inputs.columns if _numeric_dtype(inputs[name].dtype)]
    return inputs[numeric].astype("float64").median().rename("reference")


def _language(language: Language | str) -> Language:
    value = getattr(language, "value", language)
    choices = [member.value for member in Language]
    if value not in choices:
        raise ValueError(f"language must be one of {choices}; got {value!r}")
    return Language(value)


def _id_columns(index: pd.Index) -> list[str]:
    names = list(index.names)
    if len(names) == 1:
        return [names[0] if names[0] is not None else "row_id"]
    return [name if name is not None else f"row_id_{level}" for level, name in enumerate(names)]


def reason_codes(
    contributions: pd.DataFrame | Contributions,
    inputs: pd.DataFrame,
    dictionary: ReasonDictionary,
    *,
    top_k: int = 4,
    language: Language | str = Language.both,
    descriptions: Mapping[str, str] | None = None,
    reference: pd.Series | None = None,
    unit: str = LOG_ODDS,
    min_contribution: float = 0.0,
    sensitive: SensitiveAttributes | None = None,
) -> pd.DataFrame:
    """The top ``top_k`` reasons per row that raise the PD, as a long table.

    Parameters
    ----------
    contributions:
        Rows x features, positive = raises the PD (log-odds, or points lost for a scorecard).
    inputs:
        The feature values, same index as ``contributions`` (the reasons quote them).
    dictionary:
        The reason entries (:meth:`ReasonDictionary.default` for ``conf/reasons/default.yaml``).
    top_k:
        Reasons per row at most (fewer when fewer features raise the PD).
    language:
        ``zh``, ``en`` or ``both``: which text columns the table has.
    descriptions:
        Feature → plain-language description (``FeatureMatrix.descriptions`` or the model's
        feature contract): the ``detail`` column, and the text of an ``UNMAPPED`` feature.
    reference:
        Feature → typical value (:func:`reference_values` of the development rows), for
        direction-aware texts. With it, a numeric feature whose entry has a ``direction`` gets
        the main text when its value lies strictly on that side of the reference, ``otherwise``
        when strictly on the other side, ``missing`` when missing; a case the entry has no text
        for (e.g. 0 late repayments, the median, under "late repayments in recent months") is
        not stated as a reason: the text would be false. None = the main text (or ``missing``)
        whatever the value.
    unit:
        What ``contribution`` measures, copied into the ``unit`` column.
    min_contribution:
        Contributions at or below it are not reasons (0: every feature that raises the PD).
    sensitive:
        The sensitive attributes, never given as reasons (None: ``conf/fairness/default.yaml``;
        ``SensitiveAttributes({})`` to state every feature).

    Returns
    -------
    One row per (input row, reason): the input index's levels (``row_id`` when unnamed), then
    ``rank`` (1 = strongest), ``feature`` (the feature contributing most to the reason), its
    ``value`` as text (None when missing), ``contribution`` (summed over the reason's features),
    ``code``, ``text_zh`` and/or ``text_en``, ``detail`` (the feature's description), ``features``
    (every feature merged into the reason, strongest first, comma-separated) and ``unit``.
    """
    values = contributions.values if isinstance(contributions, Contributions) else contributions
    language = _language(language)
    if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or top_k < 1:
        raise ValueError(f"top_k must be an integer >= 1; got {top_k!r}")
    features = [str(name) for name in values.columns]
    absent = [name for name in features if name not in inputs.columns]
    if absent:
        raise ValueError(f"inputs lack {len(absent)} feature(s) of the contributions: "
                         f"{absent[:10]}")
    if len(inputs) != len(values) or not inputs.index.equals(values.index):
        raise ValueError(f"inputs ({len(inputs)} rows) and contributions ({len(values)} rows) "
                         f"must have the same index, row for row")
    descriptions = dict(descriptions or {})
    texts, text_of = _text_table(dictionary, features, descriptions)

    matrix = values.to_numpy(dtype="float64")
    stateable = matrix > min_contribution
    stateable[:, _sensitive_columns(features, sensitive)] = False
    rows, columns = np.nonzero(stateable)
    amounts = matrix[rows, columns]
    variant = _variants(dictionary, features, inputs, reference, rows, columns)
    stated = variant != _CONTRADICTED
    rows, columns, amounts, variant = rows[stated], columns[stated], amounts[stated], variant[stated]
    keys = text_of[columns, variant]

    # Merge features sharing a reason, then rank the reasons of each row.
    order = np.lexsort((-amounts, keys, rows))
    rows, columns, amounts, keys = rows[order], columns[order], amounts[order], keys[order]
    cells = pd.DataFrame({"row": rows, "key": keys, "column": columns, "amount": amounts})
    grouped = cells.groupby(["row", "key"], sort=False)
    reasons = grouped.agg(contribution=("amount", "sum"), column=("column", "first"),
                          n_features=("amount", "size")).reset_index()
    reasons = reasons.sort_values(["row", "contribution", "key"], ascending=[True, False, True],
                                  kind="stable")
    reasons["rank"] = reasons.groupby("row", sort=False).cumcount() + 1
    reasons = reasons[reasons["rank"] <= top_k].reset_index(drop=True)
    merged = _merged_features(cells, reasons, features)

    ids = values.index.take(reasons["row"].to_numpy())
    id_frame = pd.DataFrame({name: ids.get_level_values(level).to_numpy()
                             for level, name in enumerate(_id_columns(values.index))})
    chosen = reasons["key"].to_numpy()
    result = pd.concat([id_frame, pd.DataFrame({
        "rank": reasons["rank"].to_numpy(dtype="int64"),
        "feature": [features[column] for column in reasons["column"]],
        "value": _value_texts(inputs, features, reasons["row"].to_numpy(),
                              reasons["column"].to_numpy()),
        "contribution": reasons["contribution"].to_numpy(dtype="float64"),
        "code": [texts[key].code for key in chosen],
        "text_zh": [texts[key].zh for key in chosen],
        "text_en": [texts[key].en for key in chosen],
        "detail": [descriptions.get(features[column], "") for column in reasons["column"]],
        "features": merged,
        "unit": unit,
    })], axis=1)
    return _select_language(result, language)


def _sensitive_columns(features: Sequence[str], sensitive: SensitiveAttributes | None
                       ) -> np.ndarray:
    """Positions of the features a customer must never be given as a reason."""
    sensitive = SensitiveAttributes.default() if sensitive is None else sensitive
    hidden = sensitive.features(features)
    return np.array([name in hidden for name in features], dtype=bool)


def _text_table(
    dictionary: ReasonDictionary, features: Sequence[str], descriptions: Mapping[str, str]
) -> tuple[list[ReasonText], np.ndarray]:
    """Every distinct reason (one per code, and one per unmapped feature) and, per feature and
    variant (0 main, 1 otherwise, 2 missing), the position of its reason."""
    texts: list[ReasonText] = []
    position: dict[str, int] = {}
    text_of = np.empty((len(features), 3), dtype=np.int64)

    def place(text: ReasonText, key: str) -> int:
        if key not in position:
            position[key] = len(texts)
            texts.append(text)
        return position[key]

    for column, feature in enumerate(features):
        entry = dictionary.entry_for(feature)
        if entry is None:
            description = descriptions.get(feature) or feature
            key = place(ReasonText(UNMAPPED, UNMAPPED_ZH_PREFIX + description, description),
                        f"{UNMAPPED}:{feature}")
            text_of[column] = key
            continue
        main = place(entry.text, entry.text.code)
        text_of[column, 0] = main
        text_of[column, 1] = main if entry.otherwise is None else place(
            entry.otherwise, entry.otherwise.code)
        text_of[column, 2] = main if entry.missing is None else place(
            entry.missing, entry.missing.code)
    return texts, text_of


def _variants(
    dictionary: ReasonDictionary, features: Sequence[str], inputs: pd.DataFrame,
    reference: pd.Series | None, rows: np.ndarray, columns: np.ndarray,
) -> np.ndarray:
    """Per cell, which text applies: 0 the entry's main text, 1 its ``otherwise``, 2 its
    ``missing``, or :data:`_CONTRADICTED` when the value contradicts a directional entry's text
    and it has no text for that case."""
    n = len(features)
    direction = np.zeros(n)
    has_otherwise = np.zeros(n, dtype=bool)
    has_missing = np.zeros(n, dtype=bool)
    anchors = np.full(n, np.nan)
    for column, feature in enumerate(features):
        entry = dictionary.entry_for(feature)
        if entry is not None:
            direction[column] = _sign(entry.direction)
            has_otherwise[column] = entry.otherwise is not None
            has_missing[column] = entry.missing is not None
        if reference is not None and feature in reference.index:
            anchors[column] = float(reference[feature])
    variant = np.zeros(len(rows), dtype=np.int64)
    for column in np.unique(columns):
        cells = columns == column
        series = inputs[features[column]]
        positions = rows[cells]
        missing = series.isna().to_numpy()[positions]
        chosen = np.zeros(len(positions), dtype=np.int64)
        judged = (direction[column] != 0 and not np.isnan(anchors[column])
                  and _numeric_dtype(series.dtype))
        if judged:
            numbers = series.to_numpy(dtype="float64", na_value=np.nan)[positions]
            side = np.sign(numbers - anchors[column]) * direction[column]
            chosen = np.where(side > 0, 0, 1 if has_otherwise[column] else _CONTRADICTED)
            chosen = np.where((side == 0) & ~missing, _CONTRADICTED, chosen)
        if has_missing[column]:
            chosen = np.where(missing, 2, chosen)
        elif judged:
            chosen = np.where(missing, _CONTRADICTED, chosen)
        else:
            chosen = np.where(missing, 0, chosen)
        variant[cells] = chosen
    return variant


def _merged_features(cells: pd.DataFrame, reasons: pd.DataFrame, features: Sequence[str]
                     ) -> list[str]:
    """Per chosen reason, its features strongest first, comma-separated."""
    names = [features[column] for column in reasons["column"]]
    several = reasons["n_features"].to_numpy() > 1
    if not several.any():
        return names
    wanted = reasons.loc[several, ["row", "key"]]
    members = cells.merge(wanted, on=["row", "key"], how="inner")   # keeps the amount order
    joined = members.groupby(["row", "key"], sort=False)["column"].agg(
        lambda group: ", ".join(features[column] for column in group))
    lookup = joined.to_dict()
    return [lookup[(row, key)] if many else name for row, key, many, name in zip(
        reasons["row"], reasons["key"], several, names, strict=True)]


def _value_texts(inputs: pd.DataFrame, features: Sequence[str], rows: np.ndarray,
                 columns: np.ndarray) -> list[str | None]:
    result: list[str | None] = [None] * len(rows)
    for column in np.unique(columns):
        cells = np.flatnonzero(columns == column)
        series = inputs[features[column]].iloc[rows[cells]]
        for cell, value in zip(cells, series.tolist(), strict=True):
            result[cell] = None if _is_missing(value) else _format_value(value)
    return result


def _format_value(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else f"{number:.6g}"
    return str(value)


def _select_language(frame: pd.DataFrame, language: Language) -> pd.DataFrame:
    if language is Language.zh:
        return frame.drop(columns=["text_en"])
    if language is Language.en:
        return frame.drop(columns=["text_zh"])
    return frame


def wide_reason_codes(long: pd.DataFrame, index: pd.Index | None = None,
                      top_k: int | None = None) -> pd.DataFrame:
    """One row per input row: ``reason_1_code``, ``reason_1_zh`` and/or ``reason_1_en`` (the
    languages of ``long``), ``reason_1_feature``, ``reason_1_contribution``, then reason 2… For
    serving.

    ``index``: the rows to return (the explained inputs' index), so that a row without any reason
    is there too, its reasons None; default: the rows ``long`` has. ``top_k``: how many reasons
    wide (default: the most any row has); a row with fewer has None in the rest."""
    id_columns = [column for column in long.columns if column not in REASON_COLUMNS]
    if top_k is None:
        top_k = int(long["rank"].max()) if len(long) else 0
    fields = {name: column for name, column in (
        ("code", "code"), ("zh", "text_zh"), ("en", "text_en"), ("feature", "feature"),
        ("contribution", "contribution")) if column in long.columns}
    keyed = long.set_index(id_columns)
    if index is not None and index.nlevels == len(id_columns):
        keyed.index = keyed.index.set_names(list(index.names))
    rows = index if index is not None else keyed.index.unique()
    pieces = {}
    for rank in range(1, top_k + 1):
        at_rank = keyed[keyed["rank"] == rank]
        for name, column in fields.items():
            pieces[f"reason_{rank}_{name}"] = at_rank[column].reindex(rows)
    wide = pd.DataFrame(pieces, index=rows)
    text = [column for column in wide.columns if not column.endswith("_contribution")]
    wide[text] = wide[text].astype("object").where(wide[text].notna(), None)
    return wide


def scorecard_reason_codes(
    scorecard: Any,
    inputs: pd.DataFrame,
    dictionary: ReasonDictionary,
    *,
    top_k: int = 4,
    language: Language | str = Language.both,
    descriptions: Mapping[str, str] | None = None,
    reference: pd.Series | None = None,
    sensitive: SensitiveAttributes | None = None,
) -> pd.DataFrame:
    """Reasons of a WoE scorecard (or a :class:`~credit_models.models.pd_model.PdModel` holding
    one) from the points each feature lost against its best bin (``points_lost``): the features
    where the customer lost most points, in the long form of :func:`reason_codes` with
    ``contribution`` in points lost (unit ``points lost``)."""
    card = getattr(scorecard, "estimator_", scorecard)
    if not hasattr(card, "points_lost"):
        raise TypeError(f"scorecard reasons need a WoeScorecard; got {type(card).__name__}")
    lost = card.points_lost(inputs[list(card.feature_names_in_)])
    return reason_codes(lost, inputs.loc[:, list(lost.columns)], dictionary, top_k=top_k,
                        language=language, descriptions=descriptions, reference=reference,
                        unit=POINTS_LOST, min_contribution=1e-9, sensitive=sensitive)


def _sign(direction: Direction) -> float:
    return {Direction.high: 1.0, Direction.low: -1.0}.get(direction, 0.0)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and np.isnan(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_)


def _numeric_dtype(dtype: Any) -> bool:
    return (not isinstance(dtype, pd.CategoricalDtype)
            and (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)))
