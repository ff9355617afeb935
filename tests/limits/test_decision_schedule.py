"""A served credit decision turned into the limit schedule the closed loop simulates."""

from __future__ import annotations

import pandas as pd
import pytest

from credit_models.errors import ConfigError
from credit_models.workflows.closed_loop import decision_schedule

AS_OF = pd.Timestamp("2024-10-01", tz="UTC")


def test_permanent_limits_and_campaign_limits_become_steps():
    scored = pd.DataFrame({
        "new_limit": [5_000.0, 0.0],
        "promotion_double_11_extra": [2_000.0, 0.0],
        "promotion_double_11_starts_at": ["2024-11-01", "2024-11-01"],
        "promotion_double_11_expires_at": ["2024-11-14", "2024-11-14"],
    }, index=pd.Index([7, 9], name="customer_id"))
    schedule = decision_schedule(scored, AS_OF, "credit_limit version 1")
    steps = {(row.customer_id, row.starts_at.date().isoformat()): row.limit
             for row in schedule.itertuples()}
    assert steps == {(7, "2024-10-01"): 5_000.0, (7, "2024-11-01"): 7_000.0,
                     (7, "2024-11-14"): 5_000.0, (9, "2024-10-01"): 0.0}


def test_a_model_that_decides_no_limit_is_refused():
    with pytest.raises(ConfigError, match="returns no new_limit"):
        decision_schedule(pd.DataFrame({"probability_of_default": [0.1]}), AS_OF, "pd_xgb 3")
