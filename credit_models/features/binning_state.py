"""A fitted :class:`~credit_models.features.binning.WoeBinner` as plain JSON data, and back.

Why not pickle: a model file is read by whoever loads the model, and unpickling runs whatever code
the file names. Why not optbinning's own ``to_json``/``read_json``: it saves a categorical
binning's bins as category lists but its reader expects split positions (and a file path), so a
categorical binning does not come back. What is saved here is exactly what optbinning's
``transform`` and ``binning_table`` read: per feature the split points (for categories: positions
in the categories ordered by bad rate), the categories, the bins' good and bad counts, the special
codes and the numerical range; plus the binner's parameters and per-feature summary. A restored
binner transforms, indexes and tabulates exactly as the fitted one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from credit_models.features.binning import WoeBinner

if TYPE_CHECKING:
    from optbinning import OptimalBinning

BINNER_FORMAT = "credit_models.woe_binner/1"


def binner_to_dict(binner: WoeBinner) -> dict[str, Any]:
    """Everything a fitted binner needs to transform new data, as JSON-able containers."""
    return {
        "format": BINNER_FORMAT,
        "params": plain(binner.get_params()),
        "feature_names_in": [str(name) for name in binner.feature_kinds_],
        "feature_kinds": dict(binner.feature_kinds_),
        "empty_features": list(binner.empty_features_),
        "n_good": int(binner.n_good_),
        "n_bad": int(binner.n_bad_),
        "iv": {str(name): float(value) for name, value in binner.iv_.items()},
        "n_bins": {str(name): int(value) for name, value in binner.n_bins_.items()},
        "binnings": {name: _binning_to_dict(binning)
                     for name, binning in binner.binnings_.items()},
    }


def binner_from_dict(data: dict[str, Any]) -> WoeBinner:
    """The binner :func:`binner_to_dict` described, fitted state restored."""
    if data.get("format") != BINNER_FORMAT:
        raise ValueError(f"not a saved WoE binner: format {data.get('format')!r}, expected "
                         f"{BINNER_FORMAT!r}")
    binner = WoeBinner(**data["params"])
    names = list(data["feature_names_in"])
    binner.n_features_in_ = len(names)
    binner.feature_names_in_ = np.asarray(names, dtype=object)
    binner.feature_kinds_ = dict(data["feature_kinds"])
    binner.binnings_ = {name: _binning_from_dict(name, state)
                        for name, state in data["binnings"].items()}
    binner.empty_features_ = list(data["empty_features"])
    binner.n_good_, binner.n_bad_ = int(data["n_good"]), int(data["n_bad"])
    binner.iv_ = pd.Series(data["iv"], name="iv", dtype="float64").reindex(names)
    binner.n_bins_ = pd.Series(data["n_bins"], name="n_bins", dtype="int64").reindex(names)
    return binner


def _binning_to_dict(binning: OptimalBinning) -> dict[str, Any]:
    table = binning.binning_table
    return {
        "params": plain(binning.get_params()),
        "splits": _array(binning._splits_optimal),
        "n_nonevent": _array(binning._n_nonevent),
        "n_event": _array(binning._n_event),
        "categories": None if binning._categories is None else _array(binning._categories),
        "cat_others": None if binning._cat_others is None else _array(binning._cat_others),
        "min_x": None if table.min_x is None else float(table.min_x),
        "max_x": None if table.max_x is None else float(table.max_x),
    }


def _binning_from_dict(name: str, state: dict[str, Any]) -> OptimalBinning:
    """An OptimalBinning in the state its ``fit`` leaves for ``transform`` and
    ``binning_table`` (the attributes optbinning's own ``read_json`` restores)."""
    # Imported when a binner is restored, not with the settings that name a scorecard.
    from optbinning import OptimalBinning
    from optbinning.binning.binning_statistics import BinningTable

    binning = OptimalBinning(**state["params"])
    splits = np.asarray(state["splits"], dtype="float64")
    n_nonevent, n_event = np.asarray(state["n_nonevent"]), np.asarray(state["n_event"])
    categories = (None if state["categories"] is None
                  else np.asarray(state["categories"], dtype=object))
    cat_others = (None if state["cat_others"] is None
                  else np.asarray(state["cat_others"], dtype=object))
    binning._splits_optimal = splits
    binning._n_nonevent, binning._n_event = n_nonevent, n_event
    binning._categories, binning._cat_others = categories, cat_others
    binning._binning_table = BinningTable(
        binning.name or name, binning.dtype, binning.special_codes, splits, n_nonevent, n_event,
        state["min_x"], state["max_x"], categories, cat_others, binning.user_splits)
    binning._is_fitted = True
    return binning


def _array(values: Any) -> list[Any]:
    return [plain(value) for value in np.asarray(values, dtype=object).tolist()]


def plain(value: Any) -> Any:
    """``value`` as JSON containers: numpy scalars and arrays become Python numbers and lists;
    anything else not JSON-able is an error naming it (rather than a silent string)."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(item) for item in (value.tolist() if isinstance(value, np.ndarray)
                                         else value)]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot save {type(value).__name__} {value!r} as JSON")
