"""The synthetic UCI Taiwan sample: reproducible, in the source layout, converted by the adapter
into tables that pass the contract, with a bad rate and a signal a model can learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import credit_models as cm
from credit_models.data.adapters import UCI_COLUMN_MEANINGS, convert_uci_taiwan, uci_taiwan_sample
from credit_models.data.adapters.uci_taiwan import (
    BILL_COLUMNS,
    PAYMENT_COLUMNS,
    SOURCE_COLUMNS,
    STATUS_COLUMNS,
)
from credit_models.data.validation import check_tables


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return uci_taiwan_sample(n_customers=2000, seed=7)


def test_the_same_seed_gives_the_same_frame_and_another_seed_another(sample):
    pd.testing.assert_frame_equal(sample, uci_taiwan_sample(n_customers=2000, seed=7))
    assert not sample.equals(uci_taiwan_sample(n_customers=2000, seed=8))
    assert cm.uci_taiwan_sample is uci_taiwan_sample


def test_the_frame_has_the_source_layout_and_its_codes(sample):
    assert list(sample.columns) == SOURCE_COLUMNS
    assert set(UCI_COLUMN_MEANINGS) == set(SOURCE_COLUMNS)
    assert UCI_COLUMN_MEANINGS["X1"] == "LIMIT_BAL" and UCI_COLUMN_MEANINGS["X6"] == "PAY_0"
    assert (sample.dtypes == "int64").all()
    assert sample["ID"].is_unique and len(sample) == 2000
    assert sample["X1"].between(10_000, 1_000_000).all()
    assert set(sample["X2"]) == {1, 2}
    assert set(sample["X3"]) <= {0, 1, 2, 3, 4, 5, 6}
    assert set(sample["X4"]) <= {0, 1, 2, 3}
    assert sample["X5"].between(21, 79).all()
    statuses = sample[list(STATUS_COLUMNS)]
    assert statuses.isin(range(-2, 10)).all().all()
    assert set(np.unique(statuses)) >= {-2, -1, 0, 1, 2}          # every kind of month occurs
    assert (sample[list(PAYMENT_COLUMNS)] >= 0).all().all()
    assert (sample[list(BILL_COLUMNS)] < 0).any().any()           # a few credit balances
    assert set(sample["Y"]) == {0, 1}


def test_statuses_persist_and_arrears_rise_a_month_at_a_time(sample):
    statuses = sample[list(STATUS_COLUMNS)].to_numpy()
    late = statuses.clip(min=0)
    assert (late[:, 1:] <= late[:, :-1] + 1).all()
    same = (statuses[:, 1:] == statuses[:, :-1]).mean()
    assert same > 0.6, f"only {same:.0%} of months repeat the previous status"


def test_the_adapter_converts_it_into_valid_tables_reproducing_every_status(sample, tmp_path):
    path = tmp_path / "uci_layout.csv"
    sample.head(400).to_csv(path, index=False)
    adapted = convert_uci_taiwan(path)
    check_tables(adapted.tables, adapted.manifest.extraction_timestamp)
    assert len(adapted.tables["customers"]) == 400
    rebuilt = adapted.manifest.details["status_reconstruction"]
    assert rebuilt["reproduced"] == rebuilt["customer_months"]
    assert adapted.manifest.details["labels"]["bad"] == int(sample["Y"].head(400).sum())


def test_the_default_rate_is_that_of_a_card_book(sample):
    assert 0.17 <= sample["Y"].mean() <= 0.27
    late_in_september = sample[STATUS_COLUMNS[-1]] >= 1
    # arrears today predict default next month, as in the real file (13 % against 34 %+)
    assert sample.loc[late_in_september, "Y"].mean() > 2 * sample.loc[~late_in_september,
                                                                      "Y"].mean()


def test_a_simple_model_learns_default_from_it():
    frame = uci_taiwan_sample(n_customers=3000, seed=11)
    inputs = frame.drop(columns=["ID", "X2", "Y"]).astype("float64")
    amounts = ["X1", *BILL_COLUMNS, *PAYMENT_COLUMNS]
    inputs[amounts] = np.sign(inputs[amounts]) * np.log1p(inputs[amounts].abs())
    train = frame["ID"] % 3 != 0
    model = LogisticRegression(max_iter=2000).fit(inputs[train], frame.loc[train, "Y"])
    auc = roc_auc_score(frame.loc[~train, "Y"], model.predict_proba(inputs[~train])[:, 1])
    assert auc > 0.65, f"holdout AUC {auc:.3f}"


def test_sex_carries_no_signal(sample):
    by_sex = sample.groupby("X2")["Y"].mean()
    assert abs(by_sex[1] - by_sex[2]) < 0.05


def test_a_bad_size_is_refused():
    with pytest.raises(ValueError, match="n_customers"):
        uci_taiwan_sample(n_customers=0)
