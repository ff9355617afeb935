"""The monitoring page: summary and plots first, every individual check last, alerts on top."""

from __future__ import annotations

from credit_models.evaluation.monitoring import ALERT, MonitoringThresholds, monitor_batch
from credit_models.reporting.monitoring_report import (
    alerts_first,
    build_monitoring_report,
    check_summary,
    monitoring_figures,
)
from tests.evaluation.test_monitoring import FEATURES, sample


def test_summary_and_plots_come_before_the_checks_and_alerts_lead_each_list():
    reference, current = sample(600, 1), sample(500, 3, shift=1.0, missing=0.3)
    result = monitor_batch(reference, reference["count"].fillna(0), current,
                           current["count"].fillna(0), FEATURES)
    assert len(result.alerts) and (result.checks["status"] != ALERT).any()
    page = build_monitoring_report(result, monitoring_figures(result, MonitoringThresholds()),
                                   model_label="pd_xgb version 3")

    summary, first_plot = page.index('id="summary"'), page.index("<img")
    every_check = page.index('id="checks"')
    assert summary < first_plot < page.index('id="features"') < page.index('id="drift"')
    assert page.index('id="performance"') < page.index('id="drift"') < every_check
    assert page.index("<h2>") == page.index("<h2>Summary</h2>")
    # In the summary, the kinds with alerts first; in the full list, every alert before any ok.
    kinds = check_summary(result.checks)
    assert kinds["alerts"].is_monotonic_decreasing and kinds["alerts"].sum() == len(result.alerts)
    listed = page[every_check:]
    assert listed.rindex('class="badge alert"') < listed.index('class="badge ok"')
    ordered = alerts_first(result.checks)
    assert (ordered["status"].iloc[:len(result.alerts)] == ALERT).all()
    assert len(ordered) == len(result.checks)
