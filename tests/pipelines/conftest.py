from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from credit_models.config.schema import register_configs
from credit_models.paths import config_dir

SMALL_PORTFOLIO = [
    "data.simulator.n_customers=1500",
    "data.simulator.chunk_size=1500",
]


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
