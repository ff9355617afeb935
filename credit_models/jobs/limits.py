"""`credit-models-limits`: data → PD model → capacity model → limit policy on the evaluation
split's customers → backtest against the current limits → stress test → one MLflow run, with PD,
capacity and policy registered together as the credit-decision model.

The job only wires: config → settings → the limits workflow (which checks the policy before any
data are read) → the tracked run → the console.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig, OmegaConf

from credit_models.jobs.runner import job_entry, task_overrides
from credit_models.tracking.mlflow_tracking import (
    open_experiment,
    resolve_tracking_uri,
    ui_command,
)
from credit_models.workflows.settings import LimitsSettings

if TYPE_CHECKING:
    from credit_models.workflows.limits import LimitRun

logger = logging.getLogger("credit_models.limits")


def summary_lines(run: LimitRun, run_id: str, version: str | None, tracking_uri: str) -> str:
    """What the console shows at the end: PD AUC, limits by PD band, the backtest's headline
    in one line (its table is logged once, when the backtest finishes) and where to look."""
    import pandas as pd

    evaluation = run.evaluation_split
    by_band = run.by_band
    bands = pd.DataFrame({
        "customers": by_band["customers"].map(lambda value: f"{int(value):,}"),
        "mean PD": by_band["mean_pd"].map(lambda value: f"{value:.2%}"),
        **{label: by_band[f"{column}_mean"].map(lambda value: f"{value:,.0f}")
           for column, label in (("current_limit", "granted"),
                                 ("target_limit", "target"), ("new_limit", "after review"))},
    }, index=by_band.index)
    lines = ["", f"PD {evaluation.upper()} AUC {run.metrics[f'{evaluation}/auc']:.4f}",
             "Mean limits by PD band:", bands.to_string()]
    if run.backtest is not None:
        lines.append(backtest_line(run))
    lines.append(f"MLflow run {run_id}" + (f", registered version {version}" if version else ""))
    lines.append(f"Look at it with:  {ui_command(tracking_uri)}")
    return "\n".join(lines) + "\n"


def backtest_line(run: LimitRun) -> str:
    """The backtest in one line: the policy against the current limits held."""
    from credit_models.workflows.limit_backtest import CURRENT_HELD, POLICY

    assert run.backtest is not None
    headline = run.backtest_headline()
    policy, held = headline.loc[POLICY], headline.loc[CURRENT_HELD]
    return (f"Backtest {run.backtest.start.date()} → {run.backtest.end.date()}: policy expected "
            f"loss {policy['expected_loss']:,.0f} against {held['expected_loss']:,.0f} with the "
            f"current limits held, declined orders {policy['declined_order_rate']:.2%} against "
            f"{held['declined_order_rate']:.2%} (the table is in the log above and the report)")


@job_entry("limits")
def main(settings: LimitsSettings, cfg: DictConfig) -> None:
    # The stack the job runs on is imported here, not with the module: a config error answers
    # before it loads.

    from credit_models.tracking.limit_run import log_limit_run
    from credit_models.workflows.limits import run_limits
    from credit_models.workflows.pd_training import timed_stage

    stage = timed_stage(logger)
    tracking_uri = resolve_tracking_uri(settings.mlflow.tracking_uri, Path.cwd())
    challengers = {}
    if settings.backtest.closed_loop_models:
        from credit_models.tracking.model_loading import connect, load_pd_model

        connect(settings.mlflow.tracking_uri)
        for uri in settings.backtest.closed_loop_models:
            model = load_pd_model(uri)
            challengers[model.resolved.label] = model
    run = run_limits(settings, stage, challengers)
    open_experiment(settings.mlflow.tracking_uri, settings.mlflow.experiment_name)
    logged = log_limit_run(run, OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
                           settings.mlflow, overrides=task_overrides())
    print(summary_lines(run, logged.run_id, logged.registered_version, tracking_uri))


if __name__ == "__main__":
    main()
