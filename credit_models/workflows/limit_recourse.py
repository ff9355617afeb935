"""Recourse on a limit run: for chosen customers of the run's portfolio, what would have to change
for the policy to raise their limit (:mod:`credit_models.limits.recourse`), decided with the run's
own policy, capacity levels, snapshot and EL price — the same decision the run made, asked again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from credit_models.limits.recourse import limit_recourse
from credit_models.workflows.limits import LimitRun, check_limits
from credit_models.workflows.settings import LimitsSettings


def recourse_for(run: LimitRun, settings: LimitsSettings,
                 customers: Iterable[Any] | None = None) -> pd.DataFrame:
    """One row per customer (all of the run's portfolio when ``customers`` is None): the action
    taken, the waiting months, the PD or spending that would bring a raise, the limit it would
    bring, and the sentence in English and Chinese (columns of
    :func:`~credit_models.limits.recourse.limit_recourse`). ``settings``: those of the run."""
    portfolio = run.portfolio if customers is None else run.portfolio.loc[list(customers)]
    return limit_recourse(portfolio, check_limits(settings), settings.capacity.quantiles,
                          run.portfolio.attrs["as_of"], settings.labels.performance_months,
                          shadow_price=run.decisions.shadow_price)
