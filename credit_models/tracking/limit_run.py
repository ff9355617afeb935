"""The limit run in MLflow: config, metrics, the decision table, the backtest and stress reports
(HTML + PNG), and PD + capacity + policy registered as one credit-decision model.

It logs a finished :class:`~credit_models.workflows.limits.LimitRun` and the plain resolved config
(a dict: what the run stores as params and writes into the served model's files); it computes
nothing of the result itself. The version is created only after the run has ended FINISHED with
every artifact, so a failure or a kill before it leaves no model version behind.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import yaml
from matplotlib.figure import Figure
from mlflow.models.model import ModelInfo

from credit_models.explain.reason_codes import ReasonDictionary, reference_values
from credit_models.explain.reason_frequency import reason_frequencies, reason_frequency_figure
from credit_models.limits.backtest_metrics import frontier_figure
from credit_models.limits.recourse import RECOURSE_DETAIL_COLUMNS, recourse_summary
from credit_models.limits.stress import stress_figure
from credit_models.paths import PACKAGE_DIR
from credit_models.reporting.html import figure_png
from credit_models.reporting.limits_report import (
    closed_loop_figure,
    fairness_section,
    guardrail_section,
    header,
    image_section,
    limit_report,
    limits_by_band_figure,
    table_section,
)
from credit_models.split.names import DEVELOPMENT
from credit_models.tracking.artifacts import log_figure
from credit_models.tracking.dataset_inputs import (
    SOURCE_CONTEXT,
    log_dataset_inputs,
    source_dataset,
)
from credit_models.tracking.input_example import signature_rows
from credit_models.tracking.limit_pyfunc import (
    CreditDecisionModel,
    decision_signature,
    write_decision_model,
)
from credit_models.tracking.mlflow_tracking import code_version, flatten_params
from credit_models.tracking.model_code import DECISION_MODEL_CODE, pip_requirements
from credit_models.tracking.pd_pyfunc import feature_contract
from credit_models.tracking.pd_run import LoggedRun, log_run_metrics
from credit_models.tracking.run_lifecycle import register_finished_model
from credit_models.tracking.run_summary import (
    config_digest,
    description,
    headline_metrics,
    run_name,
)
from credit_models.workflows.limits import LimitRun
from credit_models.workflows.settings import MlflowSettings

DECISION_SAMPLE_ROWS = 200
FAIRNESS_ARTIFACT = "fairness/limit_fairness.csv"
"""Approval and recommended limit by sensitive group (one row per group)."""


LIMIT_HEADLINE_METRICS = (
    "backtest/policy/declined_order_rate", "backtest/policy/declined_order_rate/618",
    "backtest/policy/declined_order_rate/double_11", "backtest/policy/expected_loss",
    "backtest/current_held/declined_order_rate", "policy/share_raise", "policy/share_cut",
    "closed_loop/policy/declined_order_rate/618", "closed_loop/policy/declined_order_rate/double_11",
    "closed_loop/policy/realised_loss", "closed_loop/simulator/realised_loss",
)
"""What a limit run is compared by first (beside its PD model's test AUC)."""


def log_limit_run(run: LimitRun, config: Mapping[str, Any], settings: MlflowSettings,
                  overrides: Sequence[str] = ()) -> LoggedRun:
    """Log ``run`` as one MLflow run in the active experiment and, with ``settings.register``,
    register its credit-decision model as ``settings.registered_model_name``. ``config``: the
    job's resolved config as plain containers; the run is named after the policy, the data and
    the key command-line ``overrides``. The customer-level decision table is logged only with
    ``settings.log_decisions`` (a run stores no customer rows unless asked)."""
    policy = config["policy"]
    decisions = decision_table(run)
    data = run.data
    test_split = data.splitter.evaluation_split
    headline = {name: value for name, value in headline_metrics(run.metrics, test_split).items()
                if name.endswith("/auc")}
    headline.update({name: float(run.metrics[name]) for name in LIMIT_HEADLINE_METRICS
                     if name in run.metrics})
    title = f"{settings.registered_model_name}: {policy['name']} ({policy['method']})"
    summary = description(title, [
        f"PD model {run.pd_model.model.family}, capacity model {config['capacity']['name']}",
        f"label: {data.label_text}", f"data: {data.dataset.path.name}",
        f"as of {run.portfolio.attrs['as_of'].date()}",
    ], headline)
    name = run_name(["limits", str(policy["name"]), str(policy["method"]), data.label_name,
                     data.dataset.path.name], overrides)
    with mlflow.start_run(run_name=name) as active, tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        mlflow.set_tag("mlflow.note.content", summary)
        log_dataset_inputs([(source_dataset(data.dataset.path, data.dataset.tables,
                                            data.fingerprint, data.dataset.manifest.source),
                             SOURCE_CONTEXT)])
        mlflow.set_tags({
            "model_family": "credit_limit",
            "model_kind": f"{run.pd_model.model.family}+{config['capacity']['name']}",
            "model_name": settings.registered_model_name,
            "policy": policy["name"],
            "policy_method": str(policy["method"]),
            "label": run.data.label_name,
            "data_source": run.data.dataset.manifest.source,
            "as_of": str(run.portfolio.attrs["as_of"].date()),
            **code_version(PACKAGE_DIR),
        })
        mlflow.log_params(flatten_params(config))
        log_run_metrics(run.metrics, headline, run.pd_model.model)
        mlflow.log_text(_yaml(config), "config/resolved_config.yaml")
        mlflow.log_text(_yaml(policy), "policy/policy.yaml")
        mlflow.log_dict(run.data.fingerprint, "data/fingerprint.json")
        mlflow.log_text(run.capacity.by_segment.to_csv(), "capacity/metrics_by_segment.csv")
        mlflow.log_text(run.by_band.to_csv(), "limits/limits_by_pd_band.csv")
        if settings.log_decisions:     # customer-level rows: only on request
            decisions_path = scratch_dir / "decisions.parquet"
            decisions.to_parquet(decisions_path)
            mlflow.log_artifact(str(decisions_path), "limits")
            mlflow.log_text(decisions.head(DECISION_SAMPLE_ROWS).to_csv(),
                            "limits/decisions_sample.csv")
        mlflow.log_text(run.stress.to_csv(), "stress/stress_test.csv")
        # Aggregates by sensitive group only: no customer-level row leaves the run.
        mlflow.log_text(run.fairness.groups.to_csv(index=False), FAIRNESS_ARTIFACT)

        figures = {
            "limits/limits_by_pd_band.png": limits_by_band_figure(
                run.by_band, ["current_limit", "target_limit", "new_limit"],
                ["granted (current)", "policy target", "after review"]),
            "stress/stress_test.png": stress_figure(run.stress),
        }
        if run.backtest is not None:
            mlflow.log_text(run.backtest.comparison.to_csv(), "backtest/comparison.csv")
            figures["backtest/frontier.png"] = frontier_figure(
                run.backtest.frontier, highlight={"current": "current limits",
                                                  "current_held": "current limits held",
                                                  "policy": "policy"})
        if run.closed_loop is not None:
            mlflow.log_text(run.closed_loop.comparison.to_csv(), "closed_loop/comparison.csv")
            mlflow.log_text(run.closed_loop.bias.to_csv(), "closed_loop/replay_bias.csv")
            mlflow.log_text(run.closed_loop.by_segment.to_csv(), "closed_loop/by_segment.csv")
            figures["closed_loop/outcomes.png"] = closed_loop_figure(
                run.closed_loop.comparison, run.closed_loop.campaigns)
        # How often each reason is given: aggregates only, never a customer's own reasons.
        frequencies = reason_frequencies(run.reasons, ReasonDictionary.default().codes())
        mlflow.log_text(frequencies.to_csv(index=False), "limits/reason_frequency.csv")
        mlflow.log_text(recourse_summary(run.recourse).to_csv(), "limits/recourse_summary.csv")
        figures["limits/reason_frequency.png"] = reason_frequency_figure(
            frequencies, population=f"the policy's {len(run.portfolio):,} customers")
        images = {path: _log_figure(figure, path) for path, figure in figures.items()}
        mlflow.log_text(_report(policy, run, images), "reports/limit_report.html")

        model_info = _log_decision_model(config, run, scratch_dir)
    # The run has ended FINISHED with every artifact: only now does it get a version.
    tags = {**{key: f"{value:.4f}" for key, value in headline.items()},
            "label": data.label_name, "policy": str(policy["name"]),
            "data_source": data.dataset.path.name,
            "data_fingerprint": data.fingerprint["combined_sha256"],
            "training_run": active.info.run_id, "config_digest": config_digest(config)}
    version = (register_finished_model(model_info, settings.registered_model_name, tags=tags,
                                       description=summary)
               if settings.register else None)
    return LoggedRun(active.info.run_id, version)


def decision_table(run: LimitRun) -> pd.DataFrame:
    """One row per customer: the decision, campaign extras, the PD's reasons and the recourse
    (logged only with ``mlflow.log_decisions``)."""
    return run.decisions.table(run.reasons).join(run.recourse[list(RECOURSE_DETAIL_COLUMNS)])


def _yaml(config: Mapping[str, Any]) -> str:
    """A config as YAML, keys in the config's own order."""
    return yaml.dump(dict(config), default_flow_style=False, allow_unicode=True, sort_keys=False)


def _log_figure(figure: Figure, path: str) -> bytes:
    """Log the figure; return it as the report embeds it (wider, cropped)."""
    log_figure(figure, path)
    return figure_png(figure, dpi=110, tight=True)


def _report(policy: Mapping[str, Any], run: LimitRun, images: dict[str, bytes]) -> str:
    as_of = run.portfolio.attrs["as_of"].date()
    sections = [
        ("Limits by PD band", image_section(images["limits/limits_by_pd_band.png"],
                                            "limits by PD band")
         + table_section(run.by_band, "Granted limits against the policy's target and the "
                                      "limit after the review's guardrails.")),
        guardrail_section(run.decisions.customers),
        ("What would raise a limit", table_section(
            recourse_summary(run.recourse),
            "For every customer whose limit was not raised, the smallest change the policy itself "
            "would turn into a raise (asked again with everything else held, at the run's EL "
            "price): the waiting period, a lower default probability, or higher spending. "
            "'Median PD needed to PD' is the PD a raise needs as a share of today's. Immutable "
            "attributes are never a recourse. Per customer, with the sentence in Chinese and "
            "English, in the decisions table (mlflow.log_decisions=true).", digits=3)),
        ("Reasons given", image_section(
            images["limits/reason_frequency.png"], "reason frequency",
            "How often each reason code is a customer's first reason, or among their top "
            "reasons, with the text a customer is shown (Chinese and English).")),
    ]
    if run.backtest is not None:
        backtest = run.backtest
        sections.append((
            f"Backtest {backtest.start.date()} → {backtest.end.date()}",
            image_section(images["backtest/frontier.png"], "frontier",
                          "Declined orders (insufficient limit) against expected loss, per "
                          "policy setting. 'current' replays the limits customers actually had "
                          "(with the changes inside the window); 'current_held' holds the limits "
                          "of the snapshot; candidate policies review their limits every month "
                          "(backtest.monthly_review).")
            + table_section(backtest.comparison),
        ))
    if run.closed_loop is not None:
        closed_loop = run.closed_loop
        sections.append((
            "Closed loop: the window simulated again under each policy",
            image_section(images["closed_loop/outcomes.png"], "closed loop",
                          "The simulator re-runs the backtest window under each policy's limits "
                          "with common random numbers (the same customers, shocks, distress and "
                          "order draws): 'simulator' is the history's own lender, "
                          "'current_held' the snapshot's limits held, 'policy' the limits the "
                          "replay above applied. Spending, balances, bills and draw-downs follow "
                          "the limits; the loss is the balance written off at charge-off.")
            + table_section(closed_loop.comparison[closed_loop.shown])
            + table_section(closed_loop.bias_shown().rename(index=header, level="metric"),
                            "The replay's estimate beside the closed loop's value for the same "
                            "limits (bias = replay − closed loop). The replay holds repayments "
                            "and demand as observed, and its realised loss is LGD × peak "
                            "balance of the customers labelled bad; the closed loop's is the "
                            "balance actually written off.")
            + table_section(closed_loop.by_segment[closed_loop.shown],
                            "Thin-file customers (the simulator's own flag: short or no history, "
                            "riskier and harder to judge) and the others, apart."),
        ))
    sections += [
        ("Stress test", image_section(images["stress/stress_test.png"], "stress test")
         + table_section(run.stress)),
        ("Capacity model", table_section(run.capacity.by_segment,
                                         "Pinball loss, quantile coverage and MAPE of the median "
                                         "on the evaluation split, by segment.")),
        fairness_section(run.fairness, f"The policy's {len(run.portfolio):,} customers at "
                                       f"{as_of} ({run.data.splitter.evaluation_split} split)"),
    ]
    details = {
        "snapshot": str(as_of), "customers": f"{len(run.portfolio):,}",
        "policy": f"{policy['name']} ({policy['method']})",
        "label": run.data.label_text,
        "data": f"{run.data.dataset.manifest.source} ({run.data.dataset.path})",
    }
    return limit_report(f"Credit-limit policy — {policy['name']}, {as_of}", details, sections)


def _log_decision_model(config: Mapping[str, Any], run: LimitRun, scratch: Path) -> ModelInfo:
    pd_model = run.pd_model.model
    table = run.table
    features = list(pd_model.feature_names_in_)
    contract = feature_contract(table.inputs[features], run.data.features.descriptions)
    extra = feature_contract(table.all_inputs, run.data.features.descriptions)
    limits = config["limits"]
    artifacts = write_decision_model(
        scratch / "decision_model", pd_model, contract, run.capacity.model, config["policy"],
        limits["account"], run.capacity.model.quantiles_,
        int(config["labels"]["performance_months"]), None,
        reference_values(table.inputs[table.split == DEVELOPMENT][features]),
        int(limits["top_reasons"]), language=limits["language"], extra_contract=extra,
        shadow_price=run.decisions.shadow_price, sensitive=run.sensitive,
    )
    model = CreditDecisionModel().load_folder(artifacts["decision_model"])
    contract_names = [entry["name"] for entry in model.contract_]
    rows = run.table.split == run.data.splitter.evaluation_split
    schema_rows = signature_rows(table.all_inputs.loc[rows, contract_names])
    example = schema_rows.head(1)
    signature = decision_signature(schema_rows, model.predict(None, schema_rows))
    return mlflow.pyfunc.log_model(
        name="model", python_model=str(DECISION_MODEL_CODE), artifacts=artifacts,
        code_paths=[str(PACKAGE_DIR)], signature=signature, input_example=example,
        pip_requirements=pip_requirements(),
    )
