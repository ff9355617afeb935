"""Figures into the active MLflow run, drawn by the one function that turns a figure into PNG
bytes (:func:`credit_models.reporting.html.figure_png`): the file a run stores is the image a
report embeds when both ask for the same resolution."""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath

import mlflow
from matplotlib.figure import Figure

from credit_models.reporting.html import figure_png


def log_figure(figure: Figure, artifact_file: str, *, dpi: float | None = None,
               tight: bool = False) -> bytes:
    """Log ``figure`` as the PNG ``artifact_file`` (e.g. ``plots/roc_by_split.png``) of the active
    run and return the bytes logged. ``dpi`` defaults to the figure's own, as
    ``mlflow.log_figure`` draws it; ``tight`` crops the white margin."""
    png = figure_png(figure, dpi=figure.dpi if dpi is None else dpi, tight=tight)
    target = PurePosixPath(artifact_file)
    folder = None if target.parent == PurePosixPath(".") else target.parent.as_posix()
    with tempfile.TemporaryDirectory() as scratch:
        local = Path(scratch) / target.name
        local.write_bytes(png)
        mlflow.log_artifact(str(local), folder)
    return png
