"""A small synthetic portfolio with real feature names, models of both families fitted on it, and
one of them logged and registered in a throw-away MLflow store, as the train job would."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from credit_models.models.pd_model import PdModel
from credit_models.models.settings import ModelSettings

MONTHS = pd.date_range("2024-09-01", periods=5, freq="MS", tz="UTC")
SPLITS = ("dev", "dev", "valid", "calibration", "oot")
DAYS_LATE = "cures__days_late__max__90d"
CURRENT_DPD = "delinquency__days_past_due__current"
UTILISATION = "limit__utilisation__current"
ORDERS = "orders__order__count__90d"
SPEND_7D = "orders__spend_to_limit__ratio__7d"
PROMOTION = "orders_promotion__amount__sum__90d"
CITY_TIER = "customer__city_tier__value"
FEATURES = (DAYS_LATE, CURRENT_DPD, UTILISATION, ORDERS, SPEND_7D, PROMOTION, CITY_TIER)
DESCRIPTIONS = {
    DAYS_LATE: "largest days late of bills cured, the last 90 days",
    CURRENT_DPD: "days past due at the snapshot (age of the oldest unpaid bill)",
    UTILISATION: "latest statement balance / current credit limit",
    ORDERS: "number of orders, the last 90 days",
    SPEND_7D: "spend of the last 7 days relative to the credit limit (a sudden draw-down)",
    PROMOTION: "total amount of orders placed during a promotion, the last 90 days",
    CITY_TIER: "application attribute: city tier",
}


def feature_matrix(customers: int = 400, seed: int = 11) -> pd.DataFrame:
    """customer_id, as_of, the features, is_bad, split: one row per customer and month."""
    rng = np.random.default_rng(seed)
    rows = customers * len(MONTHS)
    month = np.repeat(np.arange(len(MONTHS)), customers)
    days_late = np.where(rng.random(rows) < 0.7, 0.0, rng.integers(1, 60, rows).astype(float))
    current = np.where(rng.random(rows) < 0.9, 0.0, rng.integers(1, 45, rows).astype(float))
    utilisation = rng.beta(2, 3, rows)
    orders = rng.poisson(6, rows).astype(float)
    spend = np.where(rng.random(rows) < 0.1, np.nan, rng.gamma(1.5, 0.1, rows))
    promotion = rng.gamma(1.2, 200.0, rows)
    tier = pd.Categorical(rng.choice(["1", "2", "3", "4"], rows), categories=["1", "2", "3", "4"])
    log_odds = (-3.0 + 0.04 * days_late + 0.05 * current + 2.0 * utilisation - 0.08 * orders
                + 2.0 * np.nan_to_num(spend, nan=0.3) + 0.6 * (np.asarray(tier) == "4"))
    is_bad = rng.random(rows) < 1 / (1 + np.exp(-log_odds))
    return pd.DataFrame({
        "customer_id": np.tile(np.arange(1, customers + 1, dtype=np.int64), len(MONTHS)),
        "as_of": MONTHS[month],
        DAYS_LATE: days_late, CURRENT_DPD: current, UTILISATION: utilisation, ORDERS: orders,
        SPEND_7D: spend, PROMOTION: promotion, CITY_TIER: tier,
        "is_bad": is_bad,
        "split": np.asarray(SPLITS)[month],
    })


def fit_model(matrix: pd.DataFrame, family: str, calibration: str = "isotonic") -> PdModel:
    params = ({"n_estimators": 300, "max_depth": 3, "learning_rate": 0.1, "n_jobs": 1}
              if family == "xgboost" else {"selection": "none", "max_features": 6, "n_jobs": 1})
    settings = ModelSettings(**{
        "name": f"pd_{family}", "family": family, "params": params, "early_stopping_rounds": 20,
        "monotone_constraints": ({"cures__days_late__*": 1, "delinquency__*": 1}
                                 if family == "xgboost" else {}),
        "calibration": calibration,
    })
    inputs = matrix[list(FEATURES)]
    split, is_bad = matrix["split"], matrix["is_bad"]
    return PdModel.from_settings(settings, random_state=7).fit(
        inputs[split == "dev"], is_bad[split == "dev"],
        eval_set=(inputs[split == "valid"], is_bad[split == "valid"]),
        calibration_set=(inputs[split == "calibration"], is_bad[split == "calibration"]))


@pytest.fixture(scope="session")
def matrix() -> pd.DataFrame:
    return feature_matrix()


@pytest.fixture(scope="session")
def xgb_model(matrix) -> PdModel:
    return fit_model(matrix, "xgboost")


@pytest.fixture(scope="session")
def scorecard_model(matrix) -> PdModel:
    return fit_model(matrix, "scorecard")


@dataclass(frozen=True)
class LoggedModel:
    tracking_uri: str
    run_id: str
    name: str
    version: str
    model: PdModel
    matrix: pd.DataFrame


def log_model(folder: Path, model: PdModel, matrix: pd.DataFrame, name: str) -> LoggedModel:
    """Log ``model`` the way the train job does (pyfunc with the same files, the feature matrix
    as a run artifact), register it and alias the version ``champion``."""
    import mlflow
    from mlflow import MlflowClient

    from credit_models.tracking.pd_pyfunc import (
        ProbabilityOfDefaultModel,
        feature_contract,
        write_model_files,
    )

    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(tracking_uri)
    # Artifacts beside the store, not in ./mlruns of the working directory.
    experiment = mlflow.create_experiment("explain-tests",
                                          artifact_location=(folder / "artifacts").as_uri())
    mlflow.set_experiment(experiment_id=experiment)
    scratch = folder / "scratch"
    scratch.mkdir()
    inputs = matrix[list(model.feature_names_in_)]
    with mlflow.start_run() as run:
        files = write_model_files(model, feature_contract(inputs, DESCRIPTIONS), scratch)
        matrix_path = scratch / "feature_matrix.parquet"
        matrix.to_parquet(matrix_path, index=False)
        mlflow.log_artifact(str(matrix_path), "features")
        info = mlflow.pyfunc.log_model(name="model", python_model=ProbabilityOfDefaultModel(),
                                       artifacts=files, registered_model_name=name,
                                       pip_requirements=["mlflow", "xgboost"])
    version = str(info.registered_model_version)
    MlflowClient().set_registered_model_alias(name, "champion", version)
    return LoggedModel(tracking_uri, run.info.run_id, name, version, model, matrix)
