"""Explaining individual customers: their PD, score and top reasons, for any PD model family.

XGBoost: the reasons are the features with the largest positive SHAP values (log-odds). WoE
scorecard: the features where the customer lost most points against the feature's best bin
(``points_lost``), the convention of adverse-action reasons for points scorecards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_models.explain.contributions import (
    ContributionMethod,
    Contributions,
    model_contributions,
)
from credit_models.explain.reason_codes import (
    Language,
    ReasonDictionary,
    reason_codes,
    scorecard_reason_codes,
    wide_reason_codes,
)
from credit_models.features.sensitive import SensitiveAttributes
from credit_models.models.pd_model import PdModel
from credit_models.models.settings import ModelFamily


@dataclass(frozen=True)
class RowExplanations:
    """``scores``: per input row (same index) the calibrated ``probability_of_default``, the
    ``raw_probability``, its ``margin`` (log-odds) and ``score`` points. ``reasons``: the long
    reason table (:func:`~credit_models.explain.reason_codes.reason_codes`). ``contributions``:
    the log-odds contributions the margin is made of."""

    scores: pd.DataFrame
    reasons: pd.DataFrame
    contributions: Contributions
    top_k: int

    def wide(self) -> pd.DataFrame:
        """One row per input row: the scores, then reason 1…``top_k`` (code, texts, feature,
        contribution)."""
        wide = wide_reason_codes(self.reasons, index=self.scores.index, top_k=self.top_k)
        return pd.concat([self.scores, wide], axis=1)


def explain_rows(
    model: PdModel,
    inputs: pd.DataFrame,
    dictionary: ReasonDictionary,
    *,
    top_k: int = 4,
    language: Language | str = Language.both,
    descriptions: Mapping[str, str] | None = None,
    reference: pd.Series | None = None,
    method: ContributionMethod | str = ContributionMethod.auto,
    n_threads: int | None = None,
    sensitive: SensitiveAttributes | None = None,
) -> RowExplanations:
    """PD, score and the top ``top_k`` reasons of every row of ``inputs`` (model features in the
    model's types; extra columns are ignored). ``sensitive``: attributes never given as reasons
    (None: ``conf/fairness/default.yaml``)."""
    frame = inputs[list(model.feature_names_in_)]
    contributions = model_contributions(model, frame, method=method, n_threads=n_threads)
    raw = model.predict_raw_proba(frame)[:, 1]
    probability = model.predict_proba(frame)[:, 1]
    scores = pd.DataFrame({
        "probability_of_default": np.asarray(probability, dtype="float64"),
        "raw_probability": np.asarray(raw, dtype="float64"),
        "margin": contributions.margin().to_numpy(),
        "score": np.asarray(model.points(probability), dtype="float64"),
    }, index=inputs.index)
    options = {"top_k": top_k, "language": language, "descriptions": descriptions,
               "reference": reference, "sensitive": sensitive}
    if model.family == ModelFamily.scorecard:
        reasons = scorecard_reason_codes(model, frame, dictionary, **options)
    else:
        reasons = reason_codes(contributions, frame, dictionary, **options)
    return RowExplanations(scores=scores, reasons=reasons, contributions=contributions,
                           top_k=top_k)
