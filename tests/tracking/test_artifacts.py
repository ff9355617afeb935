"""A figure logged to a run is the PNG :func:`~credit_models.reporting.html.figure_png` draws:
byte for byte what ``mlflow.log_figure`` stored before, in the folder the artifact path names."""

from __future__ import annotations

from pathlib import Path

import mlflow
from matplotlib.figure import Figure
from mlflow import MlflowClient

from credit_models.reporting.html import figure_png
from credit_models.tracking.artifacts import log_figure
from credit_models.tracking.store import prepare_store


def _figure() -> Figure:
    figure = Figure(figsize=(4, 3))
    axes = figure.subplots()
    axes.bar(["a", "b"], [1, 3])
    axes.set_title("bars")
    return figure


def test_log_figure_stores_the_png_of_figure_png(tmp_path: Path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    prepare_store(uri)
    mlflow.set_tracking_uri(uri)
    experiment = MlflowClient().create_experiment(
        "figures", artifact_location=(tmp_path / "artifacts").as_uri())
    figure = _figure()
    with mlflow.start_run(experiment_id=experiment) as run:
        logged = log_figure(figure, "plots/nested/bars.png")
        wide = log_figure(figure, "bars_wide.png", dpi=110, tight=True)
        mlflow.log_figure(figure, "reference/bars.png")
        mlflow.log_figure(figure, "reference/bars_wide.png",
                          save_kwargs={"bbox_inches": "tight", "dpi": 110})
    root = tmp_path / "artifacts" / run.info.run_id / "artifacts"
    assert (root / "plots" / "nested" / "bars.png").read_bytes() == logged
    assert (root / "bars_wide.png").read_bytes() == wide
    assert logged == figure_png(figure) == (root / "reference" / "bars.png").read_bytes()
    assert wide == figure_png(figure, dpi=110, tight=True)
    assert wide == (root / "reference" / "bars_wide.png").read_bytes()
    assert logged != wide
