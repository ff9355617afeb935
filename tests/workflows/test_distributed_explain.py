"""``credit-models-explain engine=dask``: a customer-partitioned data set's batch explained on a
Dask cluster equals the local job's explanations, written as one Parquet part file per partition;
requests that need no cluster, or have nowhere to write, are refused before any work."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from mlflow import MlflowClient

from credit_models.config.settings import to_settings
from credit_models.errors import ConfigError
from credit_models.features.spec import parse_feature_spec
from credit_models.jobs.explain import run_explain
from credit_models.models.pd_model import PdModel
from credit_models.models.xgb_pd import model_inputs
from credit_models.workflows.dataset import load_dataset
from credit_models.workflows.distributed.explain import EXPLANATIONS_WRITER
from credit_models.workflows.explanation import ID_COLUMNS, ExplainResult, report_lines, rows_at
from tests.conftest import compose_once
from tests.registry_store import log_pd_version
from tests.workflows.conftest import assert_one_part_file_per_partition
from tests.workflows.test_distributed_scoring import (  # noqa: F401 (module fixtures reused)
    AS_OF,
    client,
    dataset,
)

pytest.importorskip("distributed")

MODEL_NAME = "pd_explained"


def explain_settings(local: dict[str, Any], data_path: Path, *overrides: str) -> Any:
    """The explain job's settings for the test model's batch built from ``data_path``."""
    return to_settings(compose_once("explain", [
        f"model_uri=models:/{MODEL_NAME}@champion", f"tracking_uri={local['tracking_uri']}",
        "source=data", "features_from=config", "data=parquet", f"data.path={data_path}",
        f"as_of={AS_OF}", "engine.feature_cache_dir=null", "language=en", *overrides]))


def by_customer(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["customer_id", "as_of"], ignore_index=True)


@pytest.fixture(scope="module")
def local(dataset: Path,  # noqa: F811 (the imported fixture)
          tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A model fitted, as test_distributed_scoring's is, on the rows the explain job builds (every
    customer signed up before as_of, the already bad too: its contract then takes them all), and
    registered with its rows as the dev split (the reference sample)."""
    folder = tmp_path_factory.mktemp("explained_model")
    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    settings = explain_settings({"tracking_uri": tracking_uri}, dataset)
    rows, _ = rows_at(parse_feature_spec(asdict(settings.features)),
                      load_dataset(settings.data).tables, settings.as_of_timestamp)
    frame = rows.reset_index()
    features = [name for name in frame.columns if name not in ID_COLUMNS]
    inputs = model_inputs(frame, features)
    numbers = inputs.select_dtypes("number").fillna(0.0)
    signal = (numbers - numbers.mean()) / numbers.std().replace(0.0, 1.0)
    labels = np.random.default_rng(3).random(len(frame)) < 1 / (
        1 + np.exp(2.0 - signal.sum(axis=1) / 3))
    estimator = xgb.XGBClassifier(n_estimators=30, max_depth=3, enable_categorical=True,
                                  n_jobs=1, tree_method="hist", random_state=0)
    estimator.fit(inputs, labels.astype(np.int8))
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("tests")
    with mlflow.start_run():
        log_pd_version(PdModel.from_fitted(estimator, features),
                       frame.assign(is_bad=labels, split="dev"), folder, MODEL_NAME)
    MlflowClient().set_registered_model_alias(MODEL_NAME, "champion", "1")
    return {"tracking_uri": tracking_uri}


@pytest.fixture(scope="module")
def runs(client, dataset, local, tmp_path_factory) -> dict[str, Any]:  # noqa: F811
    """The same batch explained by the local job and on the session's cluster."""
    folder = tmp_path_factory.mktemp("explain")
    here: ExplainResult = run_explain(explain_settings(
        local, dataset, f"output={tmp_path_factory.mktemp('local') / 'reasons.parquet'}"))
    there = run_explain(explain_settings(
        local, dataset, "engine=dask", f"engine.address={client.scheduler.address}",
        f"output={folder / 'reasons'}", "print_rows=3"))
    return {"local": here, "cluster": there, "folder": folder}


def test_the_cluster_reasons_equal_the_local_jobs(runs):
    local, cluster = runs["local"], runs["cluster"]
    expected = by_customer(pd.read_parquet(local.output))
    found = by_customer(pd.read_parquet(runs["folder"] / "reasons"))
    assert cluster.customers == len(expected) == len(found) > 1000
    assert list(found.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(found, expected, check_exact=False, rtol=1e-12, atol=1e-12)


def test_one_part_file_per_partition_with_the_marker(runs):
    assert assert_one_part_file_per_partition(runs["folder"] / "reasons") == EXPLANATIONS_WRITER
    assert sorted(path.name for path in runs["folder"].iterdir()) == ["reasons"]


def test_the_console_prints_only_the_first_customers(runs):
    cluster = runs["cluster"]
    assert len(cluster.explanations.scores) == 3
    text = report_lines(cluster, "en", 3)
    assert f"{cluster.customers:,} customer(s)" in text
    assert f"… {cluster.customers - 3:,} more in {runs['folder'] / 'reasons'}" in text
    first = pd.read_parquet(runs["folder"] / "reasons" / "part-00000.parquet")
    shown = cluster.explanations.scores.index.get_level_values("customer_id").tolist()
    assert shown == first["customer_id"].head(3).tolist()


@pytest.mark.parametrize(("overrides", "message"), [
    (["source=matrix", "output=reasons"], "needs source=data"),
    (["customer_ids=[1,2]", "output=reasons"], "a few customers need no cluster"),
    ([], "set output=<folder>"),
])
def test_requests_a_cluster_cannot_serve_are_refused_before_any_work(tmp_path, overrides,
                                                                     message):
    unused = {"tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    with pytest.raises(ConfigError, match=message):
        explain_settings(unused, tmp_path / "portfolio", "engine=dask", *overrides)
    assert list(tmp_path.iterdir()) == []
