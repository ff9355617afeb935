"""Ranking metrics a credit reviewer reads first: AUC, Gini and KS, with the counts behind them."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from credit_models.errors import TrainingDataError


def ranking_metrics(is_bad: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """AUC, Gini (= 2·AUC − 1) and KS (the largest gap between the cumulative score
    distributions of bads and goods, which equals max(TPR − FPR) on the ROC curve)."""
    is_bad = np.asarray(is_bad, dtype=bool)
    score = np.asarray(score, dtype=float)
    bads = int(is_bad.sum())
    if bads == 0 or bads == len(is_bad):
        raise TrainingDataError(
            f"ranking metrics need both goods and bads; got {len(is_bad)} rows with {bads} bads"
        )
    auc = float(roc_auc_score(is_bad, score))
    false_positive_rate, true_positive_rate, _ = roc_curve(is_bad, score)
    return {
        "auc": auc,
        "gini": 2.0 * auc - 1.0,
        "ks": float(np.max(true_positive_rate - false_positive_rate)),
        "rows": float(len(is_bad)),
        "bads": float(bads),
        "bad_rate": bads / len(is_bad),
    }
