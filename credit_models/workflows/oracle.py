"""The ceiling a PD model can reach on simulated data: the simulator's true default probability
ranks the same test rows the model is judged on."""

from __future__ import annotations

import logging

import pandas as pd

from credit_models.data.simulator import read_truth, true_default_probability
from credit_models.evaluation.metrics import ranking_metrics
from credit_models.workflows.training_data import TrainingData

logger = logging.getLogger(__name__)


def oracle_metrics(data: TrainingData, split: pd.Series) -> dict[str, float]:
    """``<test split>/oracle_auc`` of the true PD on the test rows; empty unless the data are
    simulated (with their truth folder) and labelled with the simulator's event label."""
    dataset, definition = data.dataset, data.definition
    if (dataset.manifest.source != "simulator" or not (dataset.path / "truth").is_dir()
            or data.label_name != definition.name):
        return {}
    test_split = data.splitter.evaluation_split
    rows = data.labelled.loc[split == test_split, ["customer_id", "as_of", "is_bad"]]
    truth = read_truth(dataset.path)
    oracle = pd.concat([
        true_default_probability(
            truth, as_of, bad_days_past_due=definition.bad_days_past_due,
            performance_months=definition.performance_months,
        )
        for as_of in sorted(rows["as_of"].unique())
    ])
    joined = rows.merge(oracle, on=["customer_id", "as_of"], how="inner")
    if len(joined) < len(rows):
        logger.warning("the oracle covers %d of %d %s rows", len(joined), len(rows), test_split)
    return {f"{test_split}/oracle_auc":
            ranking_metrics(joined["is_bad"], joined["probability"])["auc"]}
