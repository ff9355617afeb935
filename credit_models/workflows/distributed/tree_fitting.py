"""Growing the XGBoost PD model's trees with ``xgboost.dask`` on the cluster's workers.

The configuration is the local one (the same parameters, seed, early stopping on the validation
split); each worker receives a contiguous share of the development and validation rows, so every
worker takes part in every evaluation round. The fitted booster comes back as a plain
``XGBClassifier``: the registered model is the same artifact as in local mode.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xgboost as xgb

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client

logger = logging.getLogger(__name__)

LABEL = "__is_bad__"


def dask_tree_fitter(client: Client):
    """A :data:`~credit_models.models.xgb_pd.XgbFitter` growing trees on ``client``'s workers."""

    def fit(model: xgb.XGBClassifier, development: pd.DataFrame, is_bad: np.ndarray,
            validation: tuple[pd.DataFrame, np.ndarray] | None) -> xgb.XGBClassifier:
        import xgboost.dask as dxgb

        params = model.get_params()
        started = time.perf_counter()
        workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
        train_x, train_y = _spread(client, workers, development, is_bad)
        on_cluster = dxgb.DaskXGBClassifier(**params)
        on_cluster.client = client
        eval_set = None
        if validation is not None:
            eval_set = [_spread(client, workers, *validation)]
        on_cluster.fit(train_x, train_y, eval_set=eval_set, verbose=False)
        fitted = xgb.XGBClassifier(**params)
        fitted.load_model(bytearray(on_cluster.get_booster().save_raw("json")))
        if eval_set is not None:
            fitted.evals_result_ = on_cluster.evals_result()
        logger.info("%d trees grown on %d Dask workers from %s rows in %.1fs",
                    fitted.get_booster().num_boosted_rounds(), len(workers),
                    f"{len(development):,}", time.perf_counter() - started)
        return fitted

    return fit


def _spread(client: Client, workers: list[str], frame: pd.DataFrame, labels: np.ndarray
            ) -> tuple[dd.DataFrame, dd.Series]:
    """``frame`` with its labels as a Dask frame of one contiguous share per worker, each share
    placed on its worker (XGBoost's collective needs every worker to hold part of every
    matrix)."""
    import dask.dataframe as dd

    rows = frame.assign(**{LABEL: np.asarray(labels, dtype=np.int8)})
    bounds = np.linspace(0, len(rows), len(workers) + 1).astype(int)
    shares = [client.scatter(rows.iloc[low:high], workers=[worker])
              for worker, low, high in zip(workers, bounds[:-1], bounds[1:], strict=True)]
    spread = dd.from_delayed(shares, meta=rows.iloc[:0], verify_meta=False)
    return spread.drop(columns=[LABEL]), spread[LABEL]
