"""How a run names and describes itself in the MLflow UI."""

from __future__ import annotations

from credit_models.tracking.run_summary import (
    config_digest,
    description,
    headline_metrics,
    in_sample_metric_names,
    key_overrides,
    metric_label,
    run_name,
    without_keys,
)


def test_key_overrides_keep_what_changes_the_model_and_shorten_it():
    overrides = ["model.params.max_depth=6", "mlflow.tracking_uri=sqlite:///x.db",
                 "data.path=/data/warehouse/portfolio_2025", "model=scorecard",
                 "split=stratified", "+experiment=german_credit_pd", "engine.chunk_customers=5",
                 "labels=dpd60_12m", "data.simulator.n_customers=5000"]
    assert key_overrides(overrides) == ["params.max_depth=6", "split=stratified",
                                        "experiment=german_credit_pd",
                                        "simulator.n_customers=5000"]


def test_run_name_joins_parts_and_overrides_within_mlflows_limit():
    assert run_name(["pd_xgb", "dpd30_6m", "simulated_20000_seed7"],
                    ["model.params.max_depth=6"]) == (
        "pd_xgb · dpd30_6m · simulated_20000_seed7 · params.max_depth=6")
    long = run_name(["pd_xgb"], [f"model.params.p{i}={'x' * 40}" for i in range(20)])
    assert len(long) == 250 and long.endswith("…")


def test_headline_metrics_come_first_in_reading_order():
    metrics = {"dev/auc": 0.9, "oot/ks": 0.45, "oot/auc": 0.8, "oot/psi_score": 0.06,
               "oot/ece": 0.008, "oot/oracle_auc": 0.86, "valid/auc": 0.81}
    assert list(headline_metrics(metrics, "oot")) == [
        "oot/auc", "oot/ks", "oot/ece", "oot/psi_score", "oot/oracle_auc"]


def test_in_sample_metrics_are_the_calibration_quality_of_the_fitted_split():
    names = ["calibration/ece", "calibration/auc", "calibration/brier", "oot/ece", "dev/ece"]
    assert in_sample_metric_names(names, ["calibration"]) == ["calibration/brier",
                                                              "calibration/ece"]


def test_config_digest_ignores_where_and_how_but_not_what():
    config = {"model": {"params": {"max_depth": 4}}, "seed": 7,
              "mlflow": {"experiment_name": "a"}, "engine": {"chunk_customers": 10}}
    moved = {**config, "mlflow": {"experiment_name": "b"}, "engine": {"chunk_customers": 5}}
    deeper = {**config, "model": {"params": {"max_depth": 5}}}
    assert config_digest(config) == config_digest(moved) != config_digest(deeper)


def test_description_and_labels_read_plainly():
    text = description("pd_xgb on portfolio", ["label: bad = 30+ DPD"], {"oot/auc": 0.80471})
    assert text.startswith("**pd\\_xgb on portfolio**") and "| OOT AUC | 0.8047 |" in text
    assert metric_label("oot/psi_score") == "OOT PSI of the score"
    assert metric_label("backtest/policy/declined_order_rate/618") == (
        "backtest · policy · declined order rate · 618")


def test_without_keys_drops_only_the_named_settings():
    resolved = {"model": {"name": "pd_scorecard", "monotone_constraints": {}}, "seed": 7}
    assert without_keys(resolved, "model", ["monotone_constraints"]) == {
        "model": {"name": "pd_scorecard"}, "seed": 7}
    assert without_keys(resolved, "model", []) == resolved


def test_an_experiment_is_marked_for_model_development_unless_already_marked(tmp_path):
    import mlflow
    from mlflow import MlflowClient

    from credit_models.tracking.mlflow_tracking import EXPERIMENT_KIND_TAG, use_experiment

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        client = MlflowClient()
        use_experiment("fresh")
        assert client.get_experiment_by_name("fresh").tags[EXPERIMENT_KIND_TAG] == (
            "custom_model_development")
        marked = client.create_experiment("marked",
                                          tags={EXPERIMENT_KIND_TAG: "genai_development"})
        use_experiment("marked")
        assert client.get_experiment(marked).tags[EXPERIMENT_KIND_TAG] == "genai_development"
    finally:
        mlflow.set_tracking_uri(previous)
