from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from omegaconf import DictConfig

from credit_models.config.settings import to_settings
from credit_models.jobs.train import TrainingResult, run_training
from tests.conftest import SMALL_PORTFOLIO, compose_once


def small_train_overrides(tmp_path: Path, data_dir: Path) -> list[str]:
    return [
        *SMALL_PORTFOLIO,
        f"data.path={data_dir}",
        f"mlflow.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}",
        "mlflow.experiment_name=tests",
        "model.params.n_estimators=150",
        "model.params.n_jobs=1",
    ]


@dataclass(frozen=True)
class TrainedRun:
    """A PD training run with the default settings on the small portfolio, logged to its own
    store; ``config`` trains it again."""

    config: DictConfig
    result: TrainingResult
    folder: Path


@pytest.fixture(scope="session")
def trained_pd_run(tmp_path_factory, small_portfolio, small_feature_cache) -> TrainedRun:
    """Trained once per session (about a minute) for every test that reads what a training run
    logged; tests may add runs to its store but register no ``pd_xgb`` version of their own."""
    folder = tmp_path_factory.mktemp("trained_pd_run")
    config = compose_once("train", [*small_train_overrides(folder, small_portfolio),
                                    f"engine.feature_cache_dir={small_feature_cache}"])
    return TrainedRun(config, run_training(to_settings(config), config), folder)
