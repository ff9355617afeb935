"""A seeded, vectorised simulator of a buy-now-pay-later credit-line portfolio: the project's
default data and the ground truth its tests and models are checked against.

Customers carry latent traits (income, capacity, risk, engagement, thin-file, bust-out) and two
monthly Markov chains (income shock, financial distress) that drive orders, bills, repayments,
limit events and declines. ``true_default_probability`` gives the exact probability of default
implied by that process, the ceiling any model can reach.
"""

from credit_models.data.simulator.config import RANDOM_BLOCK_SIZE, SimulatorConfig
from credit_models.data.simulator.generate import (
    SimulatedPortfolio,
    generate_to_folder,
    read_truth,
    simulate_portfolio,
)
from credit_models.data.simulator.oracle import latent_default_label, true_default_probability
from credit_models.data.simulator.truth import SimulationTruth

__all__ = [
    "RANDOM_BLOCK_SIZE",
    "SimulatedPortfolio",
    "SimulationTruth",
    "SimulatorConfig",
    "generate_to_folder",
    "latent_default_label",
    "read_truth",
    "simulate_portfolio",
    "true_default_probability",
]
