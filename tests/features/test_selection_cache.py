"""The fitted feature selection is cached beside its feature matrix, keyed by all it depends on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_models.features.selection import FeatureSelector
from credit_models.features.selection_cache import (
    SELECTION_FOLDER,
    cached_selection,
    selection_key,
)


def _sample(rows: int = 600, seed: int = 5) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"utilisation": rng.uniform(0, 1, rows), "noise": rng.normal(size=rows)})
    is_bad = pd.Series(rng.random(rows) < 0.05 + 0.3 * frame["utilisation"])
    return frame, is_bad


def test_a_second_selection_on_the_same_inputs_is_read_back(tmp_path):
    frame, is_bad = _sample()
    compared = pd.Series(["valid"] * 100, index=range(500, 600))
    fits = []

    def fit(selector: FeatureSelector) -> FeatureSelector:
        fits.append(1)
        return selector.fit(frame.iloc[:500], is_bad.iloc[:500], comparison=frame.iloc[500:])

    selector = FeatureSelector(rules="trees")
    key = selection_key(selector, is_bad.iloc[:500], compared, {})
    first = cached_selection(tmp_path, key, lambda: fit(FeatureSelector(rules="trees")))
    again = cached_selection(tmp_path, key, lambda: fit(FeatureSelector(rules="trees")))
    assert len(fits) == 1
    pd.testing.assert_frame_equal(first.selection_report_, again.selection_report_)
    assert [path.name for path in (tmp_path / SELECTION_FOLDER).iterdir()] == [f"{key}.joblib"]

    # Anything the selection depends on changes the key.
    relabelled = is_bad.iloc[:500].copy()
    relabelled.iloc[0] = not relabelled.iloc[0]
    assert selection_key(selector, relabelled, compared, {}) != key
    assert selection_key(FeatureSelector(rules="trees", max_psi=0.1), is_bad.iloc[:500],
                         compared, {}) != key
    assert selection_key(selector, is_bad.iloc[:500], compared.iloc[1:], {}) != key
    assert selection_key(selector, is_bad.iloc[:500], compared, {"noise": "excluded"}) != key

    # A damaged entry is refitted, never trusted; no cache folder, no caching.
    (tmp_path / SELECTION_FOLDER / f"{key}.joblib").write_bytes(b"not a pickle")
    cached_selection(tmp_path, key, lambda: fit(FeatureSelector(rules="trees")))
    assert len(fits) == 2
    cached_selection(None, key, lambda: fit(FeatureSelector(rules="trees")))
    assert len(fits) == 3
