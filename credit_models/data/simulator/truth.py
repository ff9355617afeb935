"""What only the simulator knows: the latent traits and monthly states behind the event tables."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from credit_models.data.simulator.config import SimulatorConfig


@dataclass(frozen=True)
class SimulationTruth:
    traits: pd.DataFrame
    """One row per customer: customer_id, signed_up_at, signup_month (month index), income,
    capacity, risk, engagement, is_thin_file, is_bust_out, bust_out_month (Int64, missing for
    other customers)."""
    monthly_states: pd.DataFrame
    """One row per customer and month from the sign-up month on: customer_id, month (index),
    month_start, shock (S_t), distressed (D_t), run_length (distressed months in a row ending at
    t)."""
    config: SimulatorConfig
    default_probability: pd.DataFrame | None = None
    """True default probability (30+ DPD within 6 months) at the configured oracle dates, when
    computed: customer_id, as_of, probability, bad_days_past_due, performance_months."""
