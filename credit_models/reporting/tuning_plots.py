"""The figures of a hyper-parameter study: its optimisation history and the parameters'
importances (fANOVA).

Drawn here on :class:`~matplotlib.figure.Figure` in the toolkit's style, not by Optuna's
matplotlib helpers: those switch the global style sheet (ggplot) and draw through pyplot."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import optuna
import pandas as pd
from matplotlib.figure import Figure

from credit_models.explain.figure_style import styled
from credit_models.reporting.plots import BAD_COLOUR, GOOD_COLOUR

logger = logging.getLogger(__name__)


def study_plots(study: optuna.Study, metric: str, seed: int) -> dict[str, Figure]:
    """Artifact path → figure: the optimisation history and, from two complete trials on, the
    parameter importances."""
    figures = {"tuning/optimization_history.png": history_figure(study, metric)}
    complete = _complete(study)
    if len(complete) < 2:
        logger.warning("parameter importances need at least 2 complete trials; skipped")
        return figures
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    try:
        importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except Exception as error:  # noqa: BLE001 - a failed plot must never lose the study
        logger.warning("parameter importances failed (%s); skipped", error)
        return figures
    figures["tuning/param_importances.png"] = importance_figure(importances, metric)
    return figures


def _complete(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [trial for trial in study.trials if trial.state is optuna.trial.TrialState.COMPLETE]


@styled
def history_figure(study: optuna.Study, metric: str) -> Figure:
    """Each complete trial's value and the best so far, by trial number."""
    complete = _complete(study)
    numbers = [trial.number for trial in complete]
    values = pd.Series([trial.value for trial in complete], dtype=float)
    best = (values.cummax() if study.direction is optuna.study.StudyDirection.MAXIMIZE
            else values.cummin())
    figure = Figure(figsize=(7, 4.5))
    axes = figure.subplots()
    axes.scatter(numbers, values, color=GOOD_COLOUR, s=18, label=f"{metric} of a trial")
    axes.step(numbers, best, where="post", color=BAD_COLOUR, label="best so far")
    axes.set_xlabel("trial")
    axes.set_ylabel(metric)
    axes.set_title(f"Optimisation history ({len(complete):,} complete trials)")
    if complete:
        axes.legend(loc="best")
    return figure


@styled
def importance_figure(importances: Mapping[str, float], metric: str) -> Figure:
    """Horizontal bars of each parameter's importance, the largest on top, its value written."""
    names = list(importances)[::-1]
    values = np.array([importances[name] for name in names], dtype=float)
    figure = Figure(figsize=(7, 0.4 * len(names) + 1.5))
    axes = figure.subplots()
    axes.barh(names, values, color=GOOD_COLOUR)
    for position, value in enumerate(values):
        axes.annotate(f"{value:.2f}", xy=(value, position), xytext=(3, 0),
                      textcoords="offset points", va="center")
    axes.margins(x=0.12)
    axes.set_xlabel(f"importance for {metric} (fANOVA)")
    axes.set_title("Hyper-parameter importances")
    return figure
