"""The target of a PD model: bad or good, coded bad = 1 or True, good = 0 or False, both present.

One rule for every PD estimator (the XGBoost model, the scorecard), with the messages
scikit-learn's conventions expect: a continuous target is an "Unknown label type", more than two
classes "Only binary classification is supported". Why not any two labels with the greater one
bad, as scikit-learn reads them: in credit data the coding is not a convention (German credit
codes 1 = good, 2 = bad), so a target that is not bad = 1/True is refused rather than guessed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from credit_models.errors import TrainingDataError


def bad_flags(y: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, is_bad)``: the two labels as given (good first, e.g. ``[False, True]``) and
    ``y`` as 0/1 integers, one per row of ``X`` (``n_rows``)."""
    if y is None:
        raise ValueError("this estimator requires y to be passed, but the target y is None")
    labels = column_or_1d(y, warn=True)
    if len(labels) != n_rows:
        raise ValueError(f"y must hold one label per row of X ({n_rows}); got {len(labels)}")
    missing = pd.isna(labels)
    if missing.any():
        raise ValueError(f"y has {int(missing.sum())} missing label(s); drop unlabelled rows "
                         f"first")
    check_classification_targets(labels)
    kind = type_of_target(labels, input_name="y")
    if kind != "binary":
        raise ValueError(f"Only binary classification is supported (bad or good). The type of "
                         f"the target is {kind}.")
    classes = np.unique(labels)
    if not set(classes.tolist()) <= {0, 1}:      # True == 1 and False == 0: booleans pass
        raise ValueError(f"y must be coded bad = 1 or True, good = 0 or False; got values "
                         f"{sorted(map(str, classes.tolist()))}")
    if len(classes) < 2:
        raise TrainingDataError(f"cannot fit on one class: y holds only {classes.tolist()} "
                                f"(both goods and bads are needed)")
    return classes, (labels == 1).astype(np.int64)
