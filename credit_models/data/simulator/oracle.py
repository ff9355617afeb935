"""The true probability of default, computed exactly from the latent process, and the realised
label read off the latent path: the ceiling a model can reach and the answer key for labels.

Why this is exact: with the process's one-cycle lag, a customer reaches N = 30*j days past due in
the month after the month e in which their run of distressed months reaches length j + 1 (the
oldest missed bill is then 30*j days past due around the 20th of month e + 1; shorter runs are
cured on days 1-15, always earlier). For a month-start ``as_of`` (m = the month before it):

* already bad at as_of (excluded): the run ending at m - 1 has length >= j + 1;
* bad in (as_of, as_of + M months]: the run length reaches j + 1 at some e in [m, m + M - 1].

Given (S_m, run length at m) the probability follows from a forward recursion over the
(shock, run length) Markov states with the month-dependent transition probabilities; bust-outs
are deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_models.data.simulator.calendar import month_index_of
from credit_models.data.simulator.config import SimulatorConfig
from credit_models.data.simulator.latent import LatentDynamics
from credit_models.data.simulator.truth import SimulationTruth
from credit_models.errors import ConfigError
from credit_models.labels.default_label import (
    EXCLUDED_ALREADY_BAD,
    EXCLUDED_INCOMPLETE_WINDOW,
    LABELLED,
)
from credit_models.timestamps import utc_timestamp

SUPPORTED_BAD_DAYS_PAST_DUE = (30, 60, 90)


def true_default_probability(
    truth: SimulationTruth,
    as_of: str | pd.Timestamp,
    bad_days_past_due: int = 30,
    performance_months: int = 6,
    config: SimulatorConfig | None = None,
) -> pd.DataFrame:
    """P(bad in (as_of, as_of + performance_months]) for every customer signed up before as_of
    and not already bad at it: columns customer_id, as_of, probability.

    Windows reaching past the extraction date are computed too (the calendar continues), though
    no label can check them.
    """
    config = config or truth.config
    as_of, month, run_needed = _check_window(config, as_of, bad_days_past_due, performance_months)
    frame = _latent_snapshot(truth, as_of, month)
    frame = frame[frame["run_before"] < run_needed]
    probability = _recursion(
        config, month, performance_months, run_needed,
        frame["risk"].to_numpy(), frame["shock"].to_numpy(), frame["run_length"].to_numpy(),
    )
    bust_out = frame["is_bust_out"].to_numpy()
    bust_out_month = frame["bust_out_month"].fillna(-1).to_numpy(dtype=np.int64)
    bust_out_bad_month = bust_out_month + run_needed - 1
    probability = np.where(
        bust_out, (bust_out_bad_month <= month + performance_months - 1).astype(float), probability
    )
    probability = np.where(frame["run_length"].to_numpy() >= run_needed, 1.0, probability)
    return pd.DataFrame({
        "customer_id": frame["customer_id"].to_numpy(dtype=np.int64),
        "as_of": pd.Series([as_of] * len(frame), dtype="datetime64[us, UTC]"),
        "probability": np.clip(probability, 0.0, 1.0),
    })


def latent_default_label(
    truth: SimulationTruth,
    as_of: str | pd.Timestamp,
    bad_days_past_due: int = 30,
    performance_months: int = 6,
    config: SimulatorConfig | None = None,
) -> pd.DataFrame:
    """The realised label of every customer signed up before as_of, read off the latent path
    with the oracle's rule: customer_id, as_of, is_bad (nullable boolean, missing unless
    labelled), status (labelled, excluded_already_bad, excluded_incomplete_window) — what the
    event-based label must find."""
    config = config or truth.config
    as_of, month, run_needed = _check_window(config, as_of, bad_days_past_due, performance_months)
    frame = _latent_snapshot(truth, as_of, month)
    states = truth.monthly_states
    last_month = month + performance_months - 1
    window = states[(states["month"] >= month) & (states["month"] <= last_month)]
    longest = window.groupby("customer_id")["run_length"].max()
    reaches = frame["customer_id"].map(longest).fillna(0).to_numpy() >= run_needed
    complete = as_of + pd.DateOffset(months=performance_months) <= config.extraction_date
    status = np.where(complete, LABELLED, EXCLUDED_INCOMPLETE_WINDOW).astype(object)
    status = np.where(frame["run_before"].to_numpy() >= run_needed, EXCLUDED_ALREADY_BAD, status)
    is_bad = pd.array(reaches, dtype="boolean")
    is_bad[status != LABELLED] = pd.NA
    return pd.DataFrame({
        "customer_id": frame["customer_id"].to_numpy(dtype=np.int64),
        "as_of": pd.Series([as_of] * len(frame), dtype="datetime64[us, UTC]"),
        "is_bad": is_bad,
        "status": pd.Series(status, dtype="str"),
    })


def _check_window(
    config: SimulatorConfig, as_of: str | pd.Timestamp, bad_days_past_due: int,
    performance_months: int,
) -> tuple[pd.Timestamp, int, int]:
    """Validated (as_of, index of the month before as_of, run length that makes a default)."""
    if bad_days_past_due not in SUPPORTED_BAD_DAYS_PAST_DUE:
        raise ConfigError(
            f"bad_days_past_due must be one of {list(SUPPORTED_BAD_DAYS_PAST_DUE)}; "
            f"got {bad_days_past_due}"
        )
    if performance_months < 1:
        raise ConfigError(f"performance_months must be >= 1; got {performance_months}")
    as_of = utc_timestamp(as_of)
    index = month_index_of(config, as_of)
    if as_of != as_of.normalize() or as_of.day != 1 or not 1 <= index <= config.months:
        raise ConfigError(
            f"as_of must be a month start after {config.start.date()} and not after the "
            f"extraction date {config.extraction_date.date()}; got {as_of}"
        )
    return as_of, index - 1, bad_days_past_due // 30 + 1


def _latent_snapshot(truth: SimulationTruth, as_of: pd.Timestamp, month: int) -> pd.DataFrame:
    """Customers signed up before as_of with their state at month m and run length at m - 1."""
    traits = truth.traits
    signed = traits.loc[
        traits["signed_up_at"] < as_of,
        ["customer_id", "risk", "is_bust_out", "bust_out_month"],
    ]
    states = truth.monthly_states
    now = states.loc[states["month"] == month].set_index("customer_id")
    before = states.loc[states["month"] == month - 1].set_index("customer_id")["run_length"]
    ids = signed["customer_id"]
    return signed.assign(
        shock=ids.map(now["shock"]).fillna(False).astype(bool).to_numpy(),
        run_length=ids.map(now["run_length"]).fillna(0).astype(np.int64).to_numpy(),
        run_before=ids.map(before).fillna(0).astype(np.int64).to_numpy(),
    ).reset_index(drop=True)


def _recursion(
    config: SimulatorConfig,
    month: int,
    performance_months: int,
    run_needed: int,
    risk: np.ndarray,
    shock: np.ndarray,
    run_length: np.ndarray,
) -> np.ndarray:
    """Probability that the run length reaches ``run_needed`` in months month+1 .. month+M-1,
    from the known (shock, run length) at ``month``; exact, vectorised over customers."""
    dynamics = LatentDynamics(config)
    count = len(risk)
    states = np.zeros((count, 2, run_needed))
    alive = run_length < run_needed
    rows = np.flatnonzero(alive)
    states[rows, shock[rows].astype(int), run_length[rows]] = 1.0
    bad = np.zeros(count)
    for step_month in range(month + 1, month + performance_months):
        onset, recovery = dynamics.shock_onset(step_month), dynamics.shock_recovery
        calm, shocked = states[:, 0, :], states[:, 1, :]
        by_shock = (
            calm * (1 - onset) + shocked * recovery,
            calm * onset + shocked * (1 - recovery),
        )
        following = np.zeros_like(states)
        for new_shock, mass in enumerate(by_shock):
            shock_now = np.full(count, float(new_shock))
            enter = dynamics.distress_onset(risk, shock_now, step_month)
            leave = dynamics.distress_recovery(risk, shock_now)
            following[:, new_shock, 0] = mass[:, 0] * (1 - enter) + mass[:, 1:].sum(axis=1) * leave
            following[:, new_shock, 1] = mass[:, 0] * enter
            for length in range(1, run_needed - 1):
                following[:, new_shock, length + 1] = mass[:, length] * (1 - leave)
            bad += mass[:, run_needed - 1] * (1 - leave)
        states = following
    return np.where(alive, bad, 1.0)
