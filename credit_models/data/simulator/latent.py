"""The two latent Markov chains (income shock S, financial distress D) and their transition
probabilities. The process and the oracle both call these functions, so the oracle's exact
probabilities describe exactly what the process draws.

Per customer and month t after the sign-up month (both chains are 0 in the sign-up month):

* ``P(S_t=1 | S_{t-1}=0) = shock_onset(t)`` (higher in downturn months),
  ``P(S_t=0 | S_{t-1}=1) = shock_recovery``;
* ``P(D_t=1 | D_{t-1}=0) = sigmoid(a + b*risk + c*S_t + d*macro_t)``,
  ``P(D_t=0 | D_{t-1}=1) = sigmoid(e + f*risk + g*S_t)``;
* a run of :data:`CHARGE_OFF_RUN_LENGTH` distressed months ends in charge-off (90+ days past
  due), after which D stays 1;
* bust-out customers: D_t = 0 before their bust-out month and 1 from it on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from credit_models.data.simulator.calendar import macro_level
from credit_models.data.simulator.config import SimulatorConfig

CHARGE_OFF_RUN_LENGTH = 4
"""Distressed months in a row after which the account reaches 90 days past due (the run length
at which a 90+ DPD default happens) and is charged off."""


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


@dataclass(frozen=True)
class LatentDynamics:
    config: SimulatorConfig

    def macro(self, month: int) -> float:
        return macro_level(self.config, month)

    def shock_onset(self, month: int) -> float:
        config = self.config
        probability = (
            config.shock_onset_probability
            + config.shock_onset_probability_downturn_extra * self.macro(month)
        )
        return float(min(probability, 0.95))

    @property
    def shock_recovery(self) -> float:
        return float(self.config.shock_recovery_probability)

    def distress_onset(self, risk: np.ndarray, shock: np.ndarray, month: int) -> np.ndarray:
        config = self.config
        return sigmoid(
            config.distress_intercept
            + config.distress_risk_coefficient * risk
            + config.distress_shock_coefficient * shock
            + config.distress_macro_coefficient * self.macro(month)
        )

    def distress_recovery(self, risk: np.ndarray, shock: np.ndarray) -> np.ndarray:
        config = self.config
        return sigmoid(
            config.recovery_intercept
            + config.recovery_risk_coefficient * risk
            + config.recovery_shock_coefficient * shock
        )


@dataclass
class LatentState:
    """Current and previous latent states of a chunk's customers."""

    shock: np.ndarray
    distress: np.ndarray
    """D_t of the month just stepped."""
    distress_previous: np.ndarray
    """D_{t-1}: decides whether the customer pays anything in month t."""
    distress_before_previous: np.ndarray
    """D_{t-2}: with D_{t-1} = 0 the customer cures missed bills in month t."""
    run_length: np.ndarray
    """Consecutive distressed months ending at t."""

    @classmethod
    def empty(cls, count: int) -> LatentState:
        zeros = np.zeros(count, dtype=bool)
        return cls(zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(),
                   np.zeros(count, dtype=np.int64))

    def step(
        self,
        dynamics: LatentDynamics,
        month: int,
        risk: np.ndarray,
        first_month: np.ndarray,
        is_bust_out: np.ndarray,
        bust_out_month: np.ndarray,
        uniforms: np.ndarray,
    ) -> None:
        """Advance every customer to ``month``; ``uniforms`` is (n, 2). Customers who have not
        signed up yet (or sign up this month) stay at 0."""
        started = month > first_month
        shock = np.where(
            self.shock,
            uniforms[:, 0] >= dynamics.shock_recovery,
            uniforms[:, 0] < dynamics.shock_onset(month),
        )
        onset = dynamics.distress_onset(risk, shock, month)
        recovery = dynamics.distress_recovery(risk, shock)
        distress = np.where(self.distress, uniforms[:, 1] >= recovery, uniforms[:, 1] < onset)
        distress |= self.run_length >= CHARGE_OFF_RUN_LENGTH
        distress = np.where(is_bust_out, month >= bust_out_month, distress)
        shock &= started
        distress &= started
        self.distress_before_previous = self.distress_previous
        self.distress_previous = self.distress
        self.shock = shock
        self.distress = distress
        self.run_length = np.where(distress, self.run_length + 1, 0)
