from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from credit_models.config.schema import register_configs
from credit_models.config.settings import to_settings
from credit_models.jobs.train import TrainingResult, run_training
from credit_models.paths import config_dir
from tests.conftest import SMALL_PORTFOLIO, compose_once


@pytest.fixture
def compose_config() -> Iterator:
    """Compose a job's config from conf/ exactly as the console script would."""
    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        def _compose(name: str, overrides: list[str]) -> DictConfig:
            return compose(config_name=name, overrides=overrides)

        yield _compose
    GlobalHydra.instance().clear()


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
