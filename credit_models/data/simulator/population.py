"""Who the customers are: latent traits (what drives behaviour, known only to the truth) and the
application attributes a lender sees at sign-up (noisy views of those traits), plus the initial
limit the application policy grants from the attributes alone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from credit_models.data.simulator.calendar import (
    MICROSECONDS_PER_DAY,
    MICROSECONDS_PER_SECOND,
    HorizonCalendar,
)
from credit_models.data.simulator.config import SimulatorConfig
from credit_models.data.simulator.randomness import BlockRandom

EDUCATION_LEVELS = ("junior_high", "high_school", "associate", "bachelor", "master_or_above")
OCCUPATIONS = ("salaried", "civil_servant", "self_employed", "gig_worker", "student", "retired")
ACQUISITION_CHANNELS = ("organic", "app_store", "social_ads", "partner_merchant", "referral")
LAUNCH_WEEK_DAYS = 7
BUREAU_SCORE_RANGE = (300.0, 850.0)
"""Bounds of the external bureau score (the familiar FICO-style scale)."""
BUREAU_SCORE_CENTRE = 680.0
BUREAU_SCORE_SCALE = 80.0
"""Score points per standard deviation of the bureau's view."""
BUREAU_SCORE_ACCURACY = 0.7
"""Correlation of the bureau's view with -risk: another lender sees the customer well, not
perfectly (its data are other products and older)."""
U_BUREAU_COVERED, U_BUREAU_NOISE = 7, 8
"""Columns of the per-customer uniforms the bureau score reads. They were drawn (and unused)
before the score existed, so adding it changed no other random number; columns 9-11 are free."""


@dataclass
class Population:
    """One chunk of customers; every array has one entry per customer."""

    customer_id: np.ndarray
    signed_up_at_us: np.ndarray
    signup_month: np.ndarray
    income: np.ndarray
    """Monthly income (currency)."""
    capacity: np.ndarray
    """Monthly spending on the line that the customer needs and can carry."""
    risk: np.ndarray
    """Propensity to fall into distress: standard normal for thick-file customers, shifted up and
    wider for thin-file ones (``thin_file_risk_shift``, ``thin_file_risk_spread``)."""
    engagement: np.ndarray
    """Expected orders per ordinary month."""
    is_thin_file: np.ndarray
    is_bust_out: np.ndarray
    bust_out_month: np.ndarray
    """Month index of the bust-out (-1 for other customers)."""
    attributes: dict[str, np.ndarray]
    """``attr_*`` columns of the customers table."""
    initial_limit: np.ndarray

    def __len__(self) -> int:
        return len(self.customer_id)


def draw_population(
    config: SimulatorConfig, calendar: HorizonCalendar, rng: BlockRandom, first_customer: int
) -> Population:
    count = rng.count
    uniform = rng.uniform(12)
    normal = rng.normal(8)
    customer_id = np.arange(first_customer + 1, first_customer + count + 1, dtype=np.int64)

    is_thin = uniform[:, 0] < config.thin_file_share
    is_bust_out = uniform[:, 1] < config.bust_out_share
    signed_up_at_us = _signup_times(config, calendar, is_thin, uniform[:, 2], uniform[:, 3])
    signup_month = (
        np.searchsorted(calendar.month_start_us, signed_up_at_us, side="right").astype(np.int64) - 1
    )

    risk = np.where(
        is_thin,
        config.thin_file_risk_shift + config.thin_file_risk_spread * normal[:, 0],
        normal[:, 0],
    )
    income_noise = -0.3 * risk + np.sqrt(1 - 0.3**2) * normal[:, 1]
    income = config.median_monthly_income * np.exp(0.5 * income_noise)
    income *= np.where(is_thin, 0.85, 1.0)
    capacity = income * 0.2 * np.exp(0.12 * risk + 0.3 * normal[:, 2])
    engagement = np.where(is_thin, 0.6, 3.0) * np.exp(0.5 * normal[:, 3])
    engagement *= np.where(is_bust_out, 1.3, 1.0)
    bust_out_month = np.where(
        is_bust_out, signup_month + 3 + np.floor(uniform[:, 4] * 7).astype(np.int64), -1
    )

    income_z = income_noise
    age = np.clip(np.round(37 - 4 * risk - 6 * is_thin + 8 * normal[:, 4]), 18, 70).astype(np.int64)
    declared_income = np.round(
        income * np.exp(0.05 + np.where(is_thin, 0.4, 0.25) * normal[:, 5]) / 100
    ) * 100
    education_score = 0.7 * income_z - 0.35 * risk + 0.7 * normal[:, 6]
    education_rank = np.searchsorted(np.array([-1.2, -0.3, 0.5, 1.4]), education_score)
    city_score = 0.6 * income_z + 0.8 * normal[:, 7]
    city_tier = 4 - np.searchsorted(np.array([-0.9, 0.0, 1.0]), city_score)
    occupation = _pick(
        np.column_stack([
            np.full(count, 0.45),
            0.08 * np.exp(0.5 * income_z - 0.5 * risk),
            np.full(count, 0.15),
            0.12 * np.exp(0.6 * risk),
            0.10 * np.where(age < 25, 3.0, 0.05),
            0.02 * np.where(age > 55, 20.0, 0.01),
        ]),
        uniform[:, 5],
    )
    channel = _pick(
        np.column_stack([
            np.full(count, 0.30),
            np.full(count, 0.25),
            0.20 * np.exp(0.4 * risk) * np.where(is_bust_out, 3.0, 1.0),
            0.15 * np.where(is_bust_out, 3.0, 1.0),
            0.10 * np.exp(-0.3 * risk),
        ]),
        uniform[:, 6],
    )
    initial_limit = _application_policy(
        config, age, declared_income, education_rank, city_tier, occupation, channel
    )
    attributes = {
        "attr_age": age,
        "attr_declared_monthly_income": declared_income.astype(np.float64),
        "attr_education": np.array(EDUCATION_LEVELS)[education_rank],
        "attr_city_tier": city_tier.astype(np.int64),
        "attr_occupation": np.array(OCCUPATIONS)[occupation],
        "attr_acquisition_channel": np.array(ACQUISITION_CHANNELS)[channel],
        "attr_bureau_score": _bureau_score(
            config, risk, is_thin, uniform[:, U_BUREAU_COVERED], uniform[:, U_BUREAU_NOISE]
        ),
    }
    return Population(
        customer_id=customer_id,
        signed_up_at_us=signed_up_at_us,
        signup_month=signup_month,
        income=income,
        capacity=capacity,
        risk=risk,
        engagement=engagement,
        is_thin_file=is_thin,
        is_bust_out=is_bust_out,
        bust_out_month=bust_out_month,
        attributes=attributes,
        initial_limit=initial_limit,
    )


def _signup_times(
    config: SimulatorConfig,
    calendar: HorizonCalendar,
    is_thin: np.ndarray,
    cohort_draw: np.ndarray,
    time_draw: np.ndarray,
) -> np.ndarray:
    """A launch cohort joins in the first week; the others join over the whole history, thin-file
    customers later on average (their position on the horizon is Beta(2, 1))."""
    thin_share = config.thin_file_share
    launch_thin = 0.5 * config.launch_cohort_share
    launch_thick = (
        (config.launch_cohort_share - thin_share * launch_thin) / (1 - thin_share)
        if thin_share < 1 else 0.0
    )
    in_launch = cohort_draw < np.where(is_thin, launch_thin, np.clip(launch_thick, 0.0, 1.0))
    start = int(calendar.month_start_us[0])
    horizon = calendar.extraction_us - start
    position = np.where(is_thin, np.sqrt(time_draw), time_draw)
    offset = np.where(in_launch, time_draw * LAUNCH_WEEK_DAYS * MICROSECONDS_PER_DAY,
                      position * horizon)
    seconds = np.floor(offset / MICROSECONDS_PER_SECOND).astype(np.int64)
    return np.minimum(start + seconds * MICROSECONDS_PER_SECOND, calendar.extraction_us - 1)


def _bureau_score(
    config: SimulatorConfig,
    risk: np.ndarray,
    is_thin: np.ndarray,
    covered_draw: np.ndarray,
    noise_draw: np.ndarray,
) -> np.ndarray:
    """Another lender's score: a noisy, monotone view of -risk on a 300-850 scale, missing (NaN)
    for every thin-file customer (no file to score) and for the thick-file customers outside the
    bureau's coverage (``bureau_coverage``)."""
    noise = ndtri(np.clip(noise_draw, 1e-12, 1 - 1e-12))
    view = -BUREAU_SCORE_ACCURACY * risk + np.sqrt(1 - BUREAU_SCORE_ACCURACY**2) * noise
    score = np.clip(np.round(BUREAU_SCORE_CENTRE + BUREAU_SCORE_SCALE * view), *BUREAU_SCORE_RANGE)
    scored = ~is_thin & (covered_draw < config.bureau_coverage)
    return np.where(scored, score, np.nan)


def _pick(weights: np.ndarray, draw: np.ndarray) -> np.ndarray:
    """Index of a category per row, with probabilities proportional to ``weights``."""
    cumulative = np.cumsum(weights, axis=1)
    threshold = draw * cumulative[:, -1]
    return np.minimum((cumulative <= threshold[:, None]).sum(axis=1), weights.shape[1] - 1)


def _application_policy(
    config: SimulatorConfig,
    age: np.ndarray,
    declared_income: np.ndarray,
    education_rank: np.ndarray,
    city_tier: np.ndarray,
    occupation: np.ndarray,
    channel: np.ndarray,
) -> np.ndarray:
    """The lender's first grant, from what it sees: a score on the attributes times the declared
    income, rounded down to 100 and kept between the floor and the ceiling."""
    occupation_effect = np.array([0.0, 0.3, -0.05, -0.2, -0.3, 0.0])[occupation]
    channel_effect = np.array([0.05, 0.0, -0.3, -0.1, 0.1])[channel]
    score = (
        0.02 * (age - 35)
        + 0.5 * np.log(np.maximum(declared_income, 100.0) / config.median_monthly_income)
        + 0.15 * (education_rank - 2)
        - 0.1 * (city_tier - 2)
        + occupation_effect
        + channel_effect
    )
    limit = np.floor(declared_income * 0.8 * np.exp(0.8 * score) / 100) * 100
    return np.clip(limit, config.limit_floor, min(config.limit_ceiling, 30_000.0))
