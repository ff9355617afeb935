"""credit-models-limits end to end on a small simulated portfolio."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from omegaconf import OmegaConf

from credit_models.config.settings import to_settings
from credit_models.errors import ConfigError
from credit_models.tracking.limit_run import decision_table, log_limit_run
from credit_models.tracking.model_loading import load_pd_model
from credit_models.workflows.closed_loop import challenger_schedules, closed_loop_check
from credit_models.workflows.limit_backtest import CURRENT_HELD, beats
from credit_models.workflows.limits import check_limits, run_limits
from tests.jobs.conftest import small_train_overrides

PORTFOLIO = ["data.simulator.n_customers=3000", "data.simulator.chunk_size=3000"]


def limits_overrides(tmp_path: Path, data_dir: Path) -> list[str]:
    return [*small_train_overrides(tmp_path, data_dir), *PORTFOLIO,
            "capacity.params.n_estimators=150", "mlflow.experiment_name=limits",
            "backtest.sweep.expected_loss_budget=[0.03,0.08]",
            "backtest.sweep.tier_scale=[1.0]"]


@pytest.mark.slow
def test_limit_job_beats_the_current_limits_and_registers_a_decision_model(
    compose_config, tmp_path, tmp_path_factory
):
    data_dir = tmp_path_factory.mktemp("limits") / "portfolio"
    config = compose_config("limits", limits_overrides(tmp_path, data_dir))
    settings = to_settings(config)
    run = run_limits(settings)

    # The quality bar: lower expected loss at an equal or lower declined-order rate than the
    # limits the simulator had granted at the snapshot. (On the default 20,000-customer portfolio
    # the policy also beats the path the simulator actually took: README, "Credit limits".)
    comparison = run.backtest.comparison
    assert beats(comparison, CURRENT_HELD), comparison.loc[
        [CURRENT_HELD, "policy"], ["expected_loss", "declined_order_rate"]]
    assert comparison.loc["policy", "orders"] > 1000
    assert 0.7 < run.metrics["capacity/oot/coverage_q90"] < 0.97
    assert run.decisions.customers["review_reason_text"].notna().all()
    assert run.reasons.filter(like="_code").notna().any().any()
    # No customer is told a sensitive attribute (age, …) as a reason for the decision.
    sensitive = settings.fairness.sensitive
    told = pd.unique(run.reasons.filter(regex=r"^reason_\d+_feature$").stack().dropna())
    assert len(told) > 0 and not sensitive.features(told), told
    stress = run.stress
    assert stress.loc["severe_downturn", "expected_loss"] > stress.loc["baseline", "expected_loss"]
    # Closed loop (the window simulated again under each policy's limits): at 618 and Double 11
    # the policy's demand-sized campaign limits decline fewer orders than the simulator's own
    # lender, at no higher realised loss.
    closed = run.closed_loop.comparison
    for campaign in ("618", "double_11"):
        rate = f"declined_order_rate/{campaign}"
        assert closed.loc["policy", rate] < closed.loc["simulator", rate], closed[rate]
    assert closed.loc["policy", "realised_loss"] <= closed.loc["simulator", "realised_loss"]
    assert closed["defaults"].nunique() == 1          # common random numbers
    assert set(run.closed_loop.bias.index.get_level_values("policy")) == set(closed.index)
    assert "replay_bias/current_held/declined_order_rate" in run.metrics

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("limits")
    logged = log_limit_run(run, OmegaConf.to_container(config, resolve=True, enum_to_str=True),
                           settings.mlflow)
    client = MlflowClient()
    artifacts = {item.path for folder in ("backtest", "reports", "stress", "limits", "fairness",
                                          "closed_loop")
                 for item in client.list_artifacts(logged.run_id, folder)}
    assert {"backtest/frontier.png", "reports/limit_report.html", "stress/stress_test.png",
            "limits/limits_by_pd_band.csv", "fairness/limit_fairness.csv",
            "limits/recourse_summary.csv", "closed_loop/comparison.csv",
            "closed_loop/replay_bias.csv", "closed_loop/outcomes.png"} <= artifacts
    # Fairness: limit and approval by age band, aggregates only (one row per group, no ids).
    local = Path(client.download_artifacts(logged.run_id, "fairness/limit_fairness.csv",
                                           str(tmp_path)))
    fairness = pd.read_csv(local)
    assert "customer_id" not in fairness and len(fairness) < 20
    age = fairness[fairness["attribute"] == "age"]
    assert age["group"].tolist()[:5] == ["< 25", "25–34", "35–44", "45–54", "55+"]
    assert age["rows"].sum() == len(run.portfolio)
    assert (age["limit_ratio"] <= 1).all() and age["limit_ratio"].max() == 1
    metrics = client.get_run(logged.run_id).data.metrics
    assert metrics["fairness/min_limit_ratio"] == fairness["limit_ratio"].min()
    assert "fairness/min_approval_ratio" in metrics
    report = Path(client.download_artifacts(logged.run_id, "reports/limit_report.html",
                                            str(tmp_path))).read_text(encoding="utf-8")
    assert "Fairness: sensitive attributes" in report and "Limit ratio" in report
    assert "What would raise a limit" in report
    assert "Closed loop: the window simulated again under each policy" in report
    assert metrics["recourse/not_raised"] == (~run.recourse["recourse"].eq("raised")).sum()
    # Customer-level decisions only with mlflow.log_decisions=true; the example is synthetic.
    assert not {"limits/decisions.parquet", "limits/decisions_sample.csv"} & artifacts
    decisions = decision_table(run)       # what mlflow.log_decisions=true logs
    assert len(decisions) == len(run.portfolio)
    assert {"new_limit", "reason_1_code", "recourse", "recourse_zh", "limit_after"} <= set(
        decisions.columns)
    model = mlflow.pyfunc.load_model(f"models:/credit_limit/{logged.registered_version}")
    assert {spec.name for spec in model.metadata.get_input_schema().inputs} >= set(
        run.pd_model.model.feature_names_in_)
    assert len(model.input_example) == 1
    scored = model.predict(model.input_example)
    assert {"probability_of_default", "score", "new_limit", "limit_action", "limit_reason",
            "reason_1_code", "reason_1_text"} <= set(scored.columns)
    assert np.all(scored["new_limit"] >= 0)

    # The registered model as a closed-loop challenger: fed the snapshot's features it decides
    # what the run decided (same policy, stored EL price), and the simulator runs its limits.
    uri = f"models:/credit_limit/{logged.registered_version}"
    as_of = run.portfolio.attrs["as_of"]
    registered = load_pd_model(uri)
    label = registered.resolved.label
    assert label == f"credit_limit version {logged.registered_version}"
    schedules = challenger_schedules({label: registered}, run.snapshot_features, as_of)
    schedule = schedules[label]
    steps = schedule.sort_values(["customer_id", "starts_at"]).groupby("customer_id")["limit"]
    granted = run.decisions.customers["new_limit"].sort_index()
    # After the last campaign has expired, the permanent limit the run decided.
    pd.testing.assert_series_equal(steps.last().sort_index(), granted, check_names=False)
    assert (steps.max().sort_index() > granted).any()       # campaign limits on top
    assert (schedule["starts_at"] >= as_of).all()
    closed = closed_loop_check(run.data.dataset.manifest, run.backtest, run.portfolio.index,
                               schedules)
    assert list(closed.comparison.index) == ["simulator", "current_held", "policy", label]
    assert closed.comparison.loc[label, "defaults"] == closed.comparison.loc["policy", "defaults"]


@pytest.mark.parametrize(("override", "message"), [
    ("policy.floor=90000", "policy.floor (90000) must not be above policy.ceiling"),
    ("+policy.tiers.pd_bands.B=[0.005,0.03]", "overlap"),
    ("policy.tiers.multipliers.A=[2.5,-1.0,2.0]", "policy.tiers.multipliers.A"),
    ("stress.scenarios.baseline.pd_multiplier=0", "stress.scenarios.baseline"),
    ("limits.language=fr", "limits.language"),
])
def test_bad_policy_config_is_refused_before_any_data_are_read(compose_config, override,
                                                                message):
    config = compose_config("limits", [override, "data.path=/nonexistent"])
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_limits(to_settings(config))


def test_limit_config_options_compose(compose_config):
    for override in ("policy.method=tiers", "capacity.quantiles=[0.5,0.75,0.9]"):
        policy = check_limits(to_settings(compose_config("limits", [override])))
        assert policy.floor <= policy.ceiling
