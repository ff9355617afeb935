"""The reports are built from plain data: a fresh interpreter builds the validation report of a
scored sample (DataFrames, arrays, dicts) and the monitoring report of a batch, and has imported
neither the experiment tracker nor the config system on the way — so a report can be rebuilt from
a saved result, without a run or a config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("mlflow", "hydra", "omegaconf")

SCRIPT = """
import json, sys
import numpy as np
import pandas as pd

import credit_models.reporting.html
import credit_models.reporting.limits_report
import credit_models.reporting.monitoring_report as monitoring_report
import credit_models.reporting.validation_report as validation_report
from credit_models.evaluation.monitoring import MonitoringThresholds, monitor_batch
from tests.evaluation.conftest import synthetic_scored_sample

scored, features, importance = synthetic_scored_sample(rows_per_month=60)
page = validation_report.build_validation_report(validation_report.ValidationInputs(
    model_name="plain", label_definition="bad = 30+ DPD", data_source="a DataFrame",
    scored=scored, features=features, feature_importance=importance,
    generated_at=pd.Timestamp("2024-09-01", tz="UTC"),
))
reference, current = features.iloc[:600], features.iloc[600:]
numeric = [name for name in features if name != "customer__channel__value"]
result = monitor_batch(reference, scored["probability"].iloc[:600], current,
                       scored["probability"].iloc[600:], numeric)
monitoring = monitoring_report.build_monitoring_report(
    result, monitoring_report.monitoring_figures(result, MonitoringThresholds()),
    model_label="plain")
print(json.dumps({
    "sections": [key for key in validation_report.SECTIONS if f'<section id="{key}">' in page],
    "images": page.count("data:image/png;base64,"),
    "monitoring_images": monitoring.count("data:image/png;base64,"),
    "loaded": sorted(name for name in sys.argv[1:] if name in sys.modules),
}))
"""


def test_reports_build_from_plain_data_without_tracker_or_config():
    completed = subprocess.run([sys.executable, "-c", SCRIPT, *FORBIDDEN], cwd=ROOT, capture_output=True,
                               text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    built = json.loads(completed.stdout.strip().splitlines()[-1])
    assert built["loaded"] == [], f"building a report imported {built['loaded']}"
    from credit_models.reporting.validation_report import SECTIONS
    assert built["sections"] == list(SECTIONS)
    assert built["images"] == 8 and built["monitoring_images"] == 3
