"""Chunks evaluated in worker processes give the serial engine's values, bit for bit, in the same
row order, and a worker's error surfaces as the serial error would."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from credit_models.data.io import read_manifest, read_tables
from credit_models.errors import ConfigError
from credit_models.features.engine import build_features
from credit_models.features.snapshots import customer_snapshots, month_starts
from credit_models.features.spec import parse_feature_spec

DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "conf" / "features" / "default.yaml"
CUSTOMERS = 400
CHUNK_CUSTOMERS = 90
"""Five chunks of the first 400 customers: more chunks than workers, one of them short."""


@pytest.fixture(scope="module")
def portfolio(small_portfolio):
    """The first customers of the session's small simulated portfolio, all their tables, and
    their month-start snapshots over the last year of data, shuffled so that row order matters."""
    tables = read_tables(small_portfolio)
    keep = np.sort(tables["customers"]["customer_id"].to_numpy())[:CUSTOMERS]
    tables = {name: frame[frame["customer_id"].isin(keep)].reset_index(drop=True)
              for name, frame in tables.items()}
    extraction = read_manifest(small_portfolio).extraction_timestamp
    as_of = month_starts(extraction - pd.DateOffset(months=12), extraction)
    snapshots = customer_snapshots(tables["customers"], as_of)
    snapshots = snapshots.sample(frac=1.0, random_state=3).reset_index(drop=True)
    spec = parse_feature_spec(OmegaConf.to_container(OmegaConf.load(DEFAULT_SPEC)))
    return spec, tables, snapshots


def test_workers_give_the_serial_values_in_the_same_order(portfolio):
    spec, tables, snapshots = portfolio
    serial = build_features(spec, tables, snapshots, chunk_customers=CHUNK_CUSTOMERS)
    parallel = build_features(spec, tables, snapshots, chunk_customers=CHUNK_CUSTOMERS,
                              workers=2)
    assert serial.frame["customer_id"].nunique() > 3 * CHUNK_CUSTOMERS
    assert parallel.descriptions == serial.descriptions
    pd.testing.assert_frame_equal(parallel.frame, serial.frame, check_exact=True)
    pd.testing.assert_frame_equal(parallel.frame[["customer_id", "as_of"]],
                                  snapshots[["customer_id", "as_of"]])


def test_one_chunk_needs_no_pool(portfolio):
    """As many workers as the machine has, but a single chunk: evaluated here, same values."""
    spec, tables, snapshots = portfolio
    serial = build_features(spec, tables, snapshots, chunk_customers=CUSTOMERS)
    single = build_features(spec, tables, snapshots, chunk_customers=CUSTOMERS, workers=None)
    pd.testing.assert_frame_equal(single.frame, serial.frame, check_exact=True)


def test_a_worker_error_is_raised_as_the_serial_one(portfolio):
    spec, tables, snapshots = portfolio
    name, promotion = next(iter(spec.filters.items()))
    broken = dataclasses.replace(spec, filters={
        **spec.filters, name: dataclasses.replace(promotion, column="no_such_column")})
    with pytest.raises(KeyError) as serial:
        build_features(broken, tables, snapshots, chunk_customers=CHUNK_CUSTOMERS)
    with pytest.raises(KeyError) as parallel:
        build_features(broken, tables, snapshots, chunk_customers=CHUNK_CUSTOMERS, workers=2)
    assert str(parallel.value) == str(serial.value)
    assert "no_such_column" in str(parallel.value)


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_workers_must_be_a_positive_whole_number(portfolio, workers):
    spec, tables, snapshots = portfolio
    with pytest.raises(ConfigError, match="workers"):
        build_features(spec, tables, snapshots, workers=workers)
