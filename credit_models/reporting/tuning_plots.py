"""The figures of a hyper-parameter study: its optimisation history and the parameters'
importances (fANOVA)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping

import matplotlib.pyplot as plt
import optuna
import pandas as pd
from matplotlib.figure import Figure

logger = logging.getLogger(__name__)


def study_plots(study: optuna.Study, metric: str, seed: int) -> dict[str, Figure]:
    """Artifact path → figure: Optuna's matplotlib plots, or plain ones when those fail."""
    figures: dict[str, Figure] = {}
    complete = [trial for trial in study.trials
                if trial.state is optuna.trial.TrialState.COMPLETE]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            axes = optuna.visualization.matplotlib.plot_optimization_history(
                study, target_name=metric)
            figures["tuning/optimization_history.png"] = axes.figure
        except Exception as error:  # noqa: BLE001 - a failed plot must never lose the study
            logger.warning("Optuna's history plot failed (%s); drawing a plain one", error)
            figures["tuning/optimization_history.png"] = _history_figure(study, metric)
        if len(complete) < 2:
            logger.warning("parameter importances need at least 2 complete trials; skipped")
            return figures
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
        try:
            axes = optuna.visualization.matplotlib.plot_param_importances(
                study, evaluator=evaluator, target_name=metric)
            figures["tuning/param_importances.png"] = axes.figure
        except Exception as error:  # noqa: BLE001
            logger.warning("Optuna's importance plot failed (%s); drawing a plain one", error)
            try:
                importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
            except Exception as again:  # noqa: BLE001
                logger.warning("parameter importances failed (%s); skipped", again)
                return figures
            figures["tuning/param_importances.png"] = _importance_figure(importances, metric)
    return figures


def _history_figure(study: optuna.Study, metric: str) -> Figure:
    complete = [trial for trial in study.trials
                if trial.state is optuna.trial.TrialState.COMPLETE]
    numbers = [trial.number for trial in complete]
    values = pd.Series([trial.value for trial in complete], dtype=float)
    best = values.cummax() if study.direction is optuna.study.StudyDirection.MAXIMIZE \
        else values.cummin()
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.scatter(numbers, values, label=metric)
    axes.step(numbers, best, where="post", color="tab:red", label="best so far")
    axes.set(xlabel="trial", ylabel=metric, title="Optimisation history")
    axes.legend()
    figure.tight_layout()
    return figure


def _importance_figure(importances: Mapping[str, float], metric: str) -> Figure:
    names = list(importances)[::-1]
    figure, axes = plt.subplots(figsize=(7, 0.4 * len(names) + 1.5))
    axes.barh(names, [importances[name] for name in names])
    axes.set(xlabel=f"importance for {metric} (fANOVA)", title="Hyper-parameter importances")
    figure.tight_layout()
    return figure
