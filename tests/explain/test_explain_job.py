"""`credit-models-explain` on tiny models logged and registered as the train job does."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from credit_models.config.schema import register_configs
from credit_models.config.settings import to_settings
from credit_models.errors import ConfigError
from credit_models.explain.reason_codes import ReasonDictionary
from credit_models.jobs.explain import run_explain
from credit_models.paths import config_dir
from credit_models.workflows.explanation import ExplainInputError, report_lines
from tests.explain.conftest import FEATURES, LoggedModel, fit_model, log_model

AS_OF = "2025-01-01"

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


@pytest.fixture(scope="module")
def store(tmp_path_factory, matrix, xgb_model) -> Iterator[dict[str, LoggedModel]]:
    """pd_xgb (XGBoost) and pd_scorecard registered in one store, aliased champion."""
    folder = tmp_path_factory.mktemp("store")
    xgb_folder, card_folder = folder / "xgb", folder / "card"
    xgb_folder.mkdir()
    card_folder.mkdir()
    logged = {"xgboost": log_model(xgb_folder, xgb_model, matrix, "pd_xgb")}
    # The scorecard in its own store, so each test picks a store by family.
    logged["scorecard"] = log_model(card_folder, fit_model(matrix, "scorecard", "platt"), matrix,
                                    "pd_scorecard")
    yield logged


def explain_config(logged: LoggedModel, *overrides: str):
    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        config = compose("explain", [f"tracking_uri={logged.tracking_uri}",
                                     f"model_uri=models:/{logged.name}@champion", *overrides])
    GlobalHydra.instance().clear()
    return config


def test_default_dictionary_composes_in_the_explain_config(store):
    config = explain_config(store["xgboost"], f"as_of={AS_OF}")
    assert ReasonDictionary.from_config(config.reasons) == ReasonDictionary.default()
    assert config.language.value == "both" and config.top_k == 4


def test_explains_named_customers_with_the_pd_of_the_trained_model(store, tmp_path):
    logged = store["xgboost"]
    output = tmp_path / "reasons.parquet"
    config = explain_config(logged, "customer_ids=[17,3,42]", f"as_of={AS_OF}",
                            f"output={output}")
    result = run_explain(to_settings(config))
    scores = result.explanations.scores
    assert [key[0] for key in scores.index] == [17, 3, 42]                # in the order asked
    rows = logged.matrix[logged.matrix["as_of"] == pd.Timestamp(AS_OF, tz="UTC")].set_index(
        "customer_id").loc[[17, 3, 42], list(FEATURES)]
    expected = logged.model.predict_proba(rows)[:, 1]
    assert np.array_equal(scores["probability_of_default"].to_numpy(), expected)
    reasons = result.explanations.reasons
    assert set(reasons["customer_id"]) <= {17, 3, 42}
    assert (reasons["contribution"] > 0).all() and reasons["rank"].max() <= 4

    written = pd.read_parquet(output)
    assert written["customer_id"].tolist() == [17, 3, 42]
    assert {"probability_of_default", "score", "reason_1_code", "reason_1_zh", "reason_1_en",
            "model_uri"} <= set(written.columns)
    text = report_lines(result, "both", 20)
    assert "customer 17  PD " in text and f"at {AS_OF}" in text
    first = reasons.iloc[0]
    assert f"{first['text_zh']} / {first['text_en']}" in text
    english = report_lines(result, "en", 1)
    assert first["text_zh"] not in english and "… 2 more" in english


def test_a_batch_explains_every_customer_at_the_date_into_a_csv(store, tmp_path):
    logged = store["xgboost"]
    output = tmp_path / "batch.csv"
    config = explain_config(logged, f"as_of={AS_OF}", f"output={output}", "output_form=long",
                            "language=zh", "top_k=2", f"model_uri={logged.run_id}")
    result = run_explain(to_settings(config))
    at_date = logged.matrix["as_of"] == pd.Timestamp(AS_OF, tz="UTC")
    assert len(result.explanations.scores) == int(at_date.sum())
    written = pd.read_csv(output)
    assert "text_zh" in written and "text_en" not in written
    assert written.groupby("customer_id")["rank"].max().max() <= 2
    assert result.model_uri == f"runs:/{logged.run_id}/model"


def test_scorecard_reasons_come_from_points_lost(store):
    logged = store["scorecard"]
    config = explain_config(logged, "customer_ids=[5,6,7]", f"as_of={AS_OF}",
                            f"model_uri=models:/{logged.name}/{logged.version}")
    result = run_explain(to_settings(config))
    reasons = result.explanations.reasons
    assert (reasons["unit"] == "points lost").all()
    card = logged.model.estimator_
    assert set(reasons["feature"]) <= set(card.features_)


def test_unknown_customer_and_date_are_named(store):
    logged = store["xgboost"]
    with pytest.raises(ExplainInputError, match=r"customer\(s\) 99999, 88888 have no row at "
                                                r"as_of 2025-01-01"):
        run_explain(to_settings(explain_config(logged, "customer_ids=[17,99999,88888]",
                                               f"as_of={AS_OF}")))
    with pytest.raises(ExplainInputError, match="as_of 2025-01-15 is not a snapshot.*2024-09-01 "
                                                "to 2025-01-01"):
        run_explain(to_settings(explain_config(logged, "customer_ids=[17]", "as_of=2025-01-15")))
    with pytest.raises(ExplainInputError, match="not an integer"):
        run_explain(to_settings(explain_config(logged, "customer_ids=[abc]", f"as_of={AS_OF}")))
    with pytest.raises(ExplainInputError, match="cannot load model models:/pd_xgb@nobody"):
        run_explain(to_settings(explain_config(logged, "model_uri=models:/pd_xgb@nobody",
                                               f"as_of={AS_OF}")))
    with pytest.raises(ConfigError, match="as_of is required"):
        run_explain(to_settings(explain_config(logged, "customer_ids=[17]")))


def test_features_built_from_event_data_at_the_date(store, tmp_path):
    logged = store["xgboost"]
    config = explain_config(
        logged, "source=data", "features_from=config", f"data.path={tmp_path / 'portfolio'}",
        "data.simulator.n_customers=500", "engine.feature_cache_dir=null", "customer_ids=[1,2,3]",
        f"as_of={AS_OF}",
    )
    result = run_explain(to_settings(config))
    assert len(result.explanations.scores) == 3
    assert result.explanations.scores["probability_of_default"].between(0, 1).all()
    with pytest.raises(ExplainInputError, match=r"customer\(s\) 100000 are not in the customers"):
        run_explain(to_settings(explain_config(
            logged, "source=data", "features_from=config", f"data.path={tmp_path / 'portfolio'}",
            "data.simulator.n_customers=500", "customer_ids=[100000]", f"as_of={AS_OF}")))


@pytest.mark.slow
def test_console_script_prints_reasons_and_exits_2_on_an_unknown_customer(store, tmp_path):
    logged = store["xgboost"]
    base = [sys.executable, "-m", "credit_models.jobs.explain",
            f"tracking_uri={logged.tracking_uri}", "model_uri=models:/pd_xgb@champion",
            f"as_of={AS_OF}", f"hydra.run.dir={tmp_path / 'hydra'}", "language=en"]
    root = Path(__file__).resolve().parents[2]
    completed = subprocess.run([*base, "customer_ids=[17]"], check=False, capture_output=True,
                               text=True, timeout=300, cwd=root)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "customer 17  PD" in completed.stdout
    failed = subprocess.run([*base, "customer_ids=[424242]"], check=False,
                            capture_output=True, text=True, timeout=300, cwd=root)
    assert failed.returncode == 2
    assert "424242" in failed.stderr and "Traceback" not in failed.stderr


def test_a_given_feature_matrix_with_naive_dates_is_read_as_utc(store, tmp_path):
    logged = store["xgboost"]
    path = tmp_path / "matrix.parquet"
    logged.matrix.assign(as_of=logged.matrix["as_of"].dt.tz_convert(None)).to_parquet(path)
    result = run_explain(to_settings(explain_config(
        logged, f"feature_matrix={path}", "customer_ids=[8]", f"as_of={AS_OF}",
        "reference_split=null")))
    assert len(result.explanations.scores) == 1
    with pytest.raises(ExplainInputError, match="does not exist"):
        run_explain(to_settings(explain_config(
            logged, f"feature_matrix={tmp_path / 'none.parquet'}", f"as_of={AS_OF}")))
    with pytest.raises(ConfigError, match="top_k must be >= 1"):
        run_explain(to_settings(explain_config(logged, "top_k=0", f"as_of={AS_OF}")))


def test_a_local_folder_is_refused_as_model_uri_and_never_read(store, tmp_path):
    logged = store["scorecard"]
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "scorecard.pkl").write_bytes(b"cos\nsystem\n(S'touch " + str(tmp_path).encode()
                                           + b"/ran'\ntR.")
    for uri in (str(folder), f"file://{folder}"):
        with pytest.raises(ConfigError, match="models:/<name>@<alias>, models:/<name>/<version>"):
            run_explain(to_settings(explain_config(logged, f"model_uri={uri}", f"as_of={AS_OF}")))
    with pytest.raises(ConfigError, match="is a local path: models are loaded only from the "
                                          "registry or a run"):
        run_explain(to_settings(explain_config(logged, f"model_uri={folder}", f"as_of={AS_OF}")))
    assert not (tmp_path / "ran").exists()


def test_an_exported_pickled_scorecard_is_refused_not_unpickled(store, tmp_path):
    from credit_models.explain.exported_model import load_model_folder
    from credit_models.tracking.pd_pyfunc import SCORING_FILE

    folder = tmp_path / "artifacts"
    folder.mkdir()
    (folder / SCORING_FILE).write_text('{"family": "scorecard", "calibration": null, '
                                       '"score": {}}')
    (folder / "feature_contract.json").write_text("[]")
    (folder / "scorecard.pkl").write_bytes(b"cos\nsystem\n(S'touch " + str(tmp_path).encode()
                                           + b"/ran'\ntR.")
    with pytest.raises(FileNotFoundError, match="pickled scorecard.pkl from an older version.*"
                                                "Retrain the scorecard and register"):
        load_model_folder(folder)
    assert not (tmp_path / "ran").exists()


def test_a_registered_scorecard_explains_as_the_trained_one_without_unpickling(store,
                                                                               monkeypatch):
    import pickle

    import cloudpickle

    def refuse(*args, **kwargs):
        raise AssertionError("a model was unpickled")

    for module in (pickle, cloudpickle):
        monkeypatch.setattr(module, "load", refuse)
        monkeypatch.setattr(module, "loads", refuse)
    logged = store["scorecard"]
    result = run_explain(to_settings(explain_config(logged, "customer_ids=[5,6,7]",
                                                    f"as_of={AS_OF}")))
    rows = logged.matrix[logged.matrix["as_of"] == pd.Timestamp(AS_OF, tz="UTC")].set_index(
        "customer_id").loc[[5, 6, 7], list(FEATURES)]
    trained = logged.model
    scores = result.explanations.scores
    assert np.array_equal(scores["probability_of_default"].to_numpy(),
                          trained.predict_proba(rows)[:, 1])
    scorecard = trained.estimator_
    expected = -scorecard.points_by_feature(rows) / scorecard.score_points_.factor
    np.testing.assert_array_equal(result.explanations.contributions.values.to_numpy(),
                                  expected.to_numpy())
