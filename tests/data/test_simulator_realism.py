"""The simulator's causal realism: thin-file customers are riskier and less predictable, an
external bureau score covers thick-file customers only, and baskets respond to the credit line
(more for risky, low-income customers) without touching the random numbers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from credit_models.data.simulator import SimulatorConfig, simulate_portfolio
from credit_models.data.simulator.calendar import HorizonCalendar
from credit_models.data.simulator.population import Population, draw_population
from credit_models.data.simulator.randomness import BlockRandom
from credit_models.data.simulator.spending import (
    LIMIT_RESPONSE_BOUNDS,
    OrderAttempts,
    limit_response,
    month_attempts,
)
from credit_models.data.validation import validate_tables
from credit_models.features.engine import build_features
from credit_models.features.sensitive import SensitiveAttributes
from credit_models.features.snapshots import customer_snapshots
from credit_models.features.spec import parse_feature_spec

COUNT = 20_000
BUREAU_FEATURE = "customer__bureau_score__value"


def _population(config: SimulatorConfig, count: int = COUNT) -> tuple[Population, BlockRandom]:
    rng = BlockRandom(config.seed, 0, count)
    return draw_population(config, HorizonCalendar.build(config), rng, 0), rng


@pytest.fixture(scope="module")
def population() -> Population:
    return _population(SimulatorConfig())[0]


# ---------------------------------------------------------------- thin-file risk
def test_thin_file_risk_is_shifted_and_wider(population):
    config = SimulatorConfig()
    thin, thick = population.risk[population.is_thin_file], population.risk[~population.is_thin_file]
    assert abs(thick.mean()) < 0.03 and abs(thick.std() - 1.0) < 0.03
    assert abs(thin.mean() - config.thin_file_risk_shift) < 0.06
    assert abs(thin.std() - config.thin_file_risk_spread) < 0.05


def test_thin_file_risk_changes_no_random_number(population):
    """Without the shift and spread every customer's risk is the same standard normal draw, and
    everything drawn alongside (who is thin-file, when they sign up) is unchanged."""
    config = SimulatorConfig()
    neutral, _ = _population(dataclasses.replace(config, thin_file_risk_shift=0.0,
                                                 thin_file_risk_spread=1.0))
    thin = population.is_thin_file
    np.testing.assert_array_equal(neutral.is_thin_file, thin)
    np.testing.assert_array_equal(neutral.signed_up_at_us, population.signed_up_at_us)
    np.testing.assert_array_equal(neutral.risk[~thin], population.risk[~thin])
    np.testing.assert_allclose(
        population.risk[thin],
        config.thin_file_risk_shift + config.thin_file_risk_spread * neutral.risk[thin],
    )


# ---------------------------------------------------------------- bureau score
def test_bureau_score_is_a_noisy_view_of_risk_missing_for_thin_files(population):
    score = population.attributes["attr_bureau_score"]
    thin = population.is_thin_file
    assert score.dtype == np.float64
    assert np.isnan(score[thin]).all()
    covered = ~np.isnan(score[~thin])
    assert abs(covered.mean() - SimulatorConfig().bureau_coverage) < 0.01
    present = ~np.isnan(score)
    assert score[present].min() >= 300 and score[present].max() <= 850
    rank = pd.Series(score[present]).corr(pd.Series(population.risk[present]), method="spearman")
    assert -0.8 < rank < -0.6


def test_bureau_coverage_draws_nothing_new():
    """The score reads uniforms that were drawn before it existed: its coverage changes which
    scores are missing and nothing else in the data set."""
    config = SimulatorConfig(n_customers=1000, chunk_size=1000)
    full = simulate_portfolio(dataclasses.replace(config, bureau_coverage=1.0))
    partial = simulate_portfolio(config)
    for name, frame in full.tables.items():
        columns = [c for c in frame.columns if c != "attr_bureau_score"]
        pd.testing.assert_frame_equal(frame[columns], partial.tables[name][columns])
    both = full.tables["customers"]["attr_bureau_score"]
    some = partial.tables["customers"]["attr_bureau_score"]
    assert some.isna().sum() > both.isna().sum()
    assert (both[some.notna()] == some[some.notna()]).all()
    thin = full.truth.traits["is_thin_file"].to_numpy()
    assert both[~thin].notna().all() and both[thin].isna().all()


def test_bureau_score_is_an_ordinary_numeric_feature():
    """The contract takes the nullable column; the feature pipeline makes it a numeric static
    feature with missing values, which is no sensitive attribute; a data set without it (the
    public adapters) simply has no such feature."""
    config = SimulatorConfig(n_customers=500, chunk_size=500)
    tables = simulate_portfolio(config).tables
    assert validate_tables(tables, config.extraction_date).ok
    spec = parse_feature_spec({"name": "static", "aggregates": []})
    snapshots = customer_snapshots(tables["customers"], [pd.Timestamp("2024-06-01", tz="UTC")])
    frame = build_features(spec, tables, snapshots).frame
    assert pd.api.types.is_float_dtype(frame[BUREAU_FEATURE])
    assert 0 < frame[BUREAU_FEATURE].isna().mean() < 1
    assert SensitiveAttributes.default().attribute_of(BUREAU_FEATURE) is None
    without = {**tables, "customers": tables["customers"].drop(columns="attr_bureau_score")}
    assert BUREAU_FEATURE not in build_features(spec, without, snapshots).frame


# ---------------------------------------------------------------- spending and the limit
MONTH = 5


def _attempts(population: Population, credit_limit: np.ndarray | None) -> OrderAttempts:
    """One month's attempts of everyone, from generators in the same state each time."""
    config = SimulatorConfig()
    _, rng = _population(config, len(population))
    count = len(population)
    return month_attempts(
        config, HorizonCalendar.build(config), rng, MONTH, population,
        np.ones(count, dtype=bool), np.zeros(count, dtype=bool), np.zeros(count, dtype=bool),
        np.zeros(count), credit_limit=credit_limit,
    )


@pytest.fixture(scope="module")
def small_population() -> Population:
    return _population(SimulatorConfig(), 4000)[0]


def test_the_first_grant_gives_todays_baskets(small_population):
    today = _attempts(small_population, None)
    same = _attempts(small_population, small_population.initial_limit.copy())
    for name, values in vars(today).items():
        np.testing.assert_array_equal(getattr(same, name), values, err_msg=name)


def test_a_higher_limit_gives_larger_baskets_more_for_risky_customers(small_population):
    base = _attempts(small_population, small_population.initial_limit.copy())
    doubled = _attempts(small_population, 2 * small_population.initial_limit)
    for name in ("customer", "time_us", "category", "channel", "is_promotion",
                 "random_risk_decline", "tries_over_limit"):
        np.testing.assert_array_equal(getattr(doubled, name), getattr(base, name), err_msg=name)
    assert len(base) > 1000
    growth = doubled.amount / base.amount
    assert (growth >= 1.0 - 1e-6).all() and growth.mean() > 1.05
    risk = small_population.risk[base.customer]
    frame = pd.DataFrame({"growth": growth, "risky": risk > 1.0, "safe": risk < -1.0})
    risky, safe = frame.loc[frame["risky"], "growth"], frame.loc[frame["safe"], "growth"]
    assert risky.median() > safe.median() + 0.1
    assert safe.median() < 1.1
    halved = _attempts(small_population, 0.5 * small_population.initial_limit)
    assert (halved.amount <= base.amount + 1e-6).all()
    assert halved.amount.sum() < base.amount.sum()


def test_limit_response_is_bounded_and_off_without_elasticity(small_population):
    config = SimulatorConfig()
    factor = limit_response(config, small_population, 100 * small_population.initial_limit)
    assert factor.max() <= LIMIT_RESPONSE_BOUNDS[1] and factor.min() > 1.0
    assert (limit_response(config, small_population, np.zeros(len(small_population)))
            == LIMIT_RESPONSE_BOUNDS[0]).all()
    off = dataclasses.replace(config, limit_spending_elasticity=0.0)
    assert (limit_response(off, small_population, 3 * small_population.initial_limit) == 1).all()


def test_limit_response_rejects_a_bad_limit(small_population):
    config = SimulatorConfig()
    with pytest.raises(ValueError, match="one limit per customer"):
        limit_response(config, small_population, np.ones(3))
    limits = small_population.initial_limit.copy()
    limits[[4, 9]] = [-1.0, np.nan]
    with pytest.raises(ValueError, match=r"finite and >= 0; customers \[4, 9\]"):
        limit_response(config, small_population, limits)
