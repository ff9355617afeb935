"""The contract of a PD model's inputs: each feature's name, type, categories, meaning and the
values a served model accepts, recorded from the training data and checked on every request.

Why a range check: a tree model or a scorecard scores any number, so a unit error, a sentinel
(``-999999``) or a value such as ``1e308`` would silently get the score of the last bin. A value is
accepted when it is finite and within the feature's *accepted range*:

* the range seen in training widened by :data:`RANGE_TOLERANCE` times the feature's scale
  (``max(max − min, |min|, |max|)``) at each end, so a customer a little outside the training
  population is still scored (days past due 0–120 in training: up to 240 accepted);
* but never below 0 for a feature that was never negative in training (counts, days, amounts):
  ``-1`` days past due is an error in the data, not a customer.

A feature constant at 0 in training has no upper bound (no scale to widen). Missing values
(null/NaN) are always accepted: they mean unknown. A category unseen in training becomes missing,
as the model was trained to read it. Contracts written before ranges were recorded are checked
for finite numbers only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from credit_models.errors import ContractViolation, DataContractError

RANGE_TOLERANCE = 1.0
"""How far beyond the training range a value is accepted, in units of the feature's scale."""
SCORING_INPUT = "scoring input"
"""The table name violations of a request are reported under."""
MISSING_TEXT = "null/NaN means the value is unknown or the window had no events"
_EXAMPLES = 5


def accepted_range(values: pd.Series) -> dict[str, Any] | None:
    """The training range of ``values`` and the range a served model accepts (see the module
    docstring); None when training had no finite value."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    numbers = numbers[np.isfinite(numbers)]
    if not len(numbers):
        return None
    low, high = float(numbers.min()), float(numbers.max())
    scale = max(high - low, abs(low), abs(high))
    return {
        "training": [low, high],
        "accepted": [0.0 if low >= 0 else low - RANGE_TOLERANCE * scale,
                     high + RANGE_TOLERANCE * scale if scale > 0 else None],
    }


def feature_contract(
    inputs: pd.DataFrame, descriptions: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Name, type, categories, meaning and (numbers) accepted range of every model input, in
    model order, from the training inputs."""
    contract = []
    for name in inputs.columns:
        entry: dict[str, Any] = {"name": name, "description": descriptions.get(name, "")}
        dtype = inputs[name].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            entry.update(type="string", categories=[str(c) for c in dtype.categories])
        else:
            entry.update(type="double", categories=None)
            bounds = accepted_range(inputs[name])
            if bounds is not None:
                entry.update(training_range=bounds["training"],
                             accepted_range=bounds["accepted"])
        entry["missing"] = MISSING_TEXT
        contract.append(entry)
    return contract


def public_inputs(inputs: pd.DataFrame) -> pd.DataFrame:
    """What a caller sends: categories as plain strings, numbers as float64."""
    return pd.DataFrame(
        {
            name: (inputs[name].astype("str").where(inputs[name].notna(), None)
                   if isinstance(inputs[name].dtype, pd.CategoricalDtype) else inputs[name])
            for name in inputs.columns
        },
        index=inputs.index,
    )


def typed_inputs(contract: list[dict[str, Any]], frame: pd.DataFrame) -> pd.DataFrame:
    """The caller's frame in model order and dtypes, after checking it against the contract.

    Raises :class:`DataContractError` listing every broken rule at once: missing features, values
    that are not numbers, infinite values and numbers outside the accepted range, each with the
    column, the rule and a few offending row positions (0 = the first row sent)."""
    names = [entry["name"] for entry in contract]
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise DataContractError([ContractViolation(
            SCORING_INPUT, None,
            f"lack {len(missing)} model feature(s): {missing[:10]}"
            + (" …" if len(missing) > 10 else "") + "; send every feature, null where unknown",
            len(missing))])
    typed, violations = {}, []
    for entry in contract:
        values = frame[entry["name"]]
        if entry["categories"] is not None:
            typed[entry["name"]] = pd.Categorical(
                values.astype("str").where(values.notna(), None), categories=entry["categories"]
            )
        else:
            numbers, broken = _checked_numbers(entry, values)
            typed[entry["name"]] = numbers
            violations.extend(broken)
    if violations:
        raise DataContractError(violations)
    return pd.DataFrame(typed, index=frame.index)     # already the model's dtypes, in order


def _checked_numbers(
    entry: Mapping[str, Any], values: pd.Series
) -> tuple[pd.Series, list[ContractViolation]]:
    name = entry["name"]
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    checks = [(values.notna().to_numpy() & numbers.isna().to_numpy(),
               "must be a number (null where unknown)")]
    array = numbers.to_numpy()
    checks.append((np.isinf(array), "must be finite (null where unknown)"))
    bounds = entry.get("accepted_range")
    if bounds is not None:
        low, high = (-math.inf if bounds[0] is None else bounds[0],
                     math.inf if bounds[1] is None else bounds[1])
        outside = np.isfinite(array) & ((array < low) | (array > high))
        training = entry.get("training_range") or [None, None]
        checks.append((outside, (
            f"must lie in the accepted range [{_shown(bounds[0])}, {_shown(bounds[1])}] "
            f"(training range [{_shown(training[0])}, {_shown(training[1])}] widened by "
            f"{RANGE_TOLERANCE:g} x its scale, never below 0 for a feature never negative in "
            f"training); correct the value, or send null if it is unknown")))
    violations = []
    for mask, rule in checks:
        if mask.any():
            positions = np.flatnonzero(mask)
            violations.append(ContractViolation(
                SCORING_INPUT, name, rule, len(positions),
                pd.DataFrame({"row_position": positions[:_EXAMPLES],
                              "value": values.iloc[positions[:_EXAMPLES]].to_numpy()}),
            ))
    return pd.Series(array, index=values.index, name=name), violations


def _shown(bound: float | None) -> str:
    return "unbounded" if bound is None else f"{bound:g}"
