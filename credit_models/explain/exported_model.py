"""A PD model rebuilt from the files of its exported pyfunc, so it can be explained exactly as the
in-memory model that was trained.

The pyfunc folder (written by ``credit_models/tracking/pd_pyfunc.py``; its file names are defined
here, so that reading it needs no MLflow) holds the estimator (``booster.ubj``, XGBoost's own
format, or ``scorecard.json``, the scorecard's bins, coefficients and points as data),
``scoring.json`` (family, calibration, score scale) and ``feature_contract.json`` (every input's
name, type, categories and description). The booster
is loaded into an ``XGBClassifier``, which restores its categorical feature types and its
``best_iteration``, so probabilities and contributions equal the in-memory model's bit for bit.
Nothing is unpickled: a folder holding only the ``scorecard.pkl`` of an older export is refused
(retrain and re-register). This module reads a folder the caller downloaded from the registry or
a run (the explain job and the credit-decision pyfunc); it never chooses where a model comes from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import xgboost as xgb

from credit_models.models.calibration import ProbabilityCalibrator
from credit_models.models.input_contract import typed_inputs
from credit_models.models.pd_model import PdModel
from credit_models.models.scorecard import ScorePoints, WoeScorecard
from credit_models.models.settings import ModelFamily

FEATURE_CONTRACT_FILE = "feature_contract.json"
BOOSTER_FILE = "booster.ubj"
SCORECARD_FILE = "scorecard.json"
PICKLED_SCORECARD_FILE = "scorecard.pkl"
"""What versions before the JSON export wrote; never read (unpickling runs the file's code)."""
SCORING_FILE = "scoring.json"


def read_scorecard(path: str | Path) -> WoeScorecard:
    """The scorecard saved by :func:`~credit_models.tracking.pd_pyfunc.write_model_files`. A
    pickled scorecard of an older export is refused with what to do, never unpickled."""
    path = Path(path)
    if path.name == PICKLED_SCORECARD_FILE or not path.is_file():
        raise FileNotFoundError(
            f"{path.parent} holds no {SCORECARD_FILE}"
            + (f" but a pickled {PICKLED_SCORECARD_FILE} from an older version of "
               "credit_models, which is not loaded: unpickling runs whatever code the file "
               "names" if (path.parent / PICKLED_SCORECARD_FILE).is_file() else "")
            + ". Retrain the scorecard and register the new version (credit-models-train "
              "model=scorecard), then point the alias at it"
        )
    return WoeScorecard.from_dict(json.loads(path.read_text()))


@dataclass(frozen=True)
class ExportedModel:
    """The model (a :class:`PdModel`) and what its export says about its inputs."""

    model: PdModel
    contract: list[dict[str, Any]]
    score_points: ScorePoints
    folder: Path

    @property
    def features(self) -> list[str]:
        return [entry["name"] for entry in self.contract]

    @property
    def descriptions(self) -> dict[str, str]:
        return {entry["name"]: entry.get("description") or "" for entry in self.contract}

    def inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame``'s model features in model order and types (categories fixed by the
        contract, as the pyfunc does); a missing feature is an error naming it."""
        return typed_inputs(self.contract, frame)


def _find(folder: Path, name: str) -> Path | None:
    direct = folder / name
    if direct.is_file():
        return direct
    return next(iter(sorted(folder.rglob(name))), None)


def load_model_folder(folder: str | Path) -> ExportedModel:
    """Rebuild the PD model from an exported pyfunc folder (its root or its ``artifacts``)."""
    folder = Path(folder)
    scoring_path = _find(folder, SCORING_FILE)
    contract_path = _find(folder, FEATURE_CONTRACT_FILE)
    lacking = [name for name, path in ((SCORING_FILE, scoring_path),
                                       (FEATURE_CONTRACT_FILE, contract_path)) if path is None]
    if lacking:
        raise FileNotFoundError(f"{folder} is not an exported PD model: it lacks {lacking}")
    scoring = json.loads(scoring_path.read_text())
    contract = json.loads(contract_path.read_text())
    family = ModelFamily(scoring["family"])
    if family is ModelFamily.xgboost:
        path = _find(folder, BOOSTER_FILE)
        if path is None:
            raise FileNotFoundError(f"{folder} has no {BOOSTER_FILE} for its xgboost model")
        estimator: Any = xgb.XGBClassifier()
        estimator.load_model(path)
    else:
        path = _find(folder, SCORECARD_FILE) or _find(folder, PICKLED_SCORECARD_FILE)
        estimator = read_scorecard(path if path is not None else folder / SCORECARD_FILE)
    calibration = scoring.get("calibration")
    calibrator = None if calibration is None else ProbabilityCalibrator.from_dict(calibration)
    score = dict(scoring.get("score") or {})
    features = [entry["name"] for entry in contract]
    model = PdModel.from_fitted(estimator, features, calibrator=calibrator, score=score)
    return ExportedModel(model=model, contract=contract, score_points=ScorePoints(**score),
                         folder=folder)
