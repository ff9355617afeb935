"""A small synthetic file in the UCI Taiwan layout, for trying the adapter without the real data.

:func:`uci_taiwan_sample` writes the columns of the UCI "default of credit card clients" file that
:func:`~credit_models.data.adapters.convert_uci_taiwan` reads (``ID``, ``X1`` .. ``X23``, ``Y``;
:data:`UCI_COLUMN_MEANINGS` names each one as the better-known copies of the file do, e.g.
``X1`` = ``LIMIT_BAL``). The numbers are made up but behave like a card book, so a model has
something to learn:

* each card holder has a latent risk that drives the limit granted, how often a payment is missed,
  how fast arrears are cured and how close the balance runs to the limit;
* repayment statuses follow a monthly chain with persistence: a current customer pays in full
  (status -1), pays part of the balance (0, revolving credit) or does not use the card (-2);
  a missed payment makes the account one month late, and each further month adds one month
  unless a payment cures the arrears or holds them where they are. Every status sequence is one
  the adapter can reproduce exactly from the bills and payments (arrears never jump by more than a
  month, and an overdue statement is only settled by a payment);
* ``Y`` (default next month) depends on the latent risk, the current arrears and the utilisation,
  at a bad rate of about 22 % (the real file: 22.1 %).

Sex (``X2``) is drawn independently of everything else: the adapter leaves it out, and nothing in
the sample should reward a model for finding it through a proxy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_models.data.adapters.uci_taiwan import (
    ATTRIBUTE_COLUMNS,
    BILL_COLUMNS,
    ID_COLUMN,
    LABEL_COLUMN,
    LIMIT_COLUMN,
    N_MONTHS,
    PAYMENT_COLUMNS,
    SEX_COLUMN,
    SOURCE_COLUMNS,
    STATUS_COLUMNS,
)

UCI_COLUMN_MEANINGS: dict[str, str] = {
    "ID": "ID",
    "X1": "LIMIT_BAL",
    "X2": "SEX",
    "X3": "EDUCATION",
    "X4": "MARRIAGE",
    "X5": "AGE",
    **{f"X{6 + i}": name for i, name in enumerate(["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5",
                                                   "PAY_6"])},
    **{f"X{12 + i}": f"BILL_AMT{i + 1}" for i in range(6)},
    **{f"X{18 + i}": f"PAY_AMT{i + 1}" for i in range(6)},
    "Y": "default.payment.next.month",
}
"""The source's column names (as the adapter reads them) → the names of the widely shared copy
of the file (Kaggle's ``UCI_Credit_Card.csv``): rename a file of that copy with the inverse."""

BURN_IN_MONTHS = 3
"""Months simulated before April 2005 and dropped, so that April already holds arrears, revolving
balances and the March statement its payment is made against."""
MAX_STATUS = 8
"""The most months late written (the real file's largest status is 8)."""
TARGET_BAD_RATE = 0.22

# Customer types while current: -2 no use of the card, -1 pays in full, 0 revolves.
_INACTIVE, _FULL, _REVOLVING = -2, -1, 0
_EDUCATION_CODES = np.array([1, 2, 3, 4, 5, 6, 0])
_EDUCATION_SHARES = np.array([0.352, 0.468, 0.164, 0.004, 0.0093, 0.0017, 0.0010])
_EDUCATION_RISK = np.array([-0.25, 0.0, 0.25, -0.4, -0.4, 0.0, -0.4])
_MARRIAGE_CODES = np.array([1, 2, 3, 0])
_MARRIAGE_SHARES = np.array([0.455, 0.532, 0.011, 0.002])
_LABEL_INTERCEPT = -1.96
"""Sets the bad rate near :data:`TARGET_BAD_RATE` (checked on 200,000 customers)."""


def uci_taiwan_sample(n_customers: int = 2000, seed: int = 7) -> pd.DataFrame:
    """A synthetic data set in the UCI Taiwan source layout: one row per card holder, columns
    :data:`~credit_models.data.adapters.uci_taiwan.SOURCE_COLUMNS`, all whole numbers.

    The same ``n_customers`` and ``seed`` give the same frame. Write it with
    ``frame.to_csv(path, index=False)`` and convert it with ``convert_uci_taiwan(path)`` or the
    train job (``+experiment=uci_taiwan_pd data.source_file=path``).
    """
    if n_customers < 1:
        raise ValueError(f"n_customers must be at least 1; got {n_customers}")
    rng = np.random.default_rng(seed)
    n = n_customers

    education = rng.choice(_EDUCATION_CODES, size=n, p=_EDUCATION_SHARES / _EDUCATION_SHARES.sum())
    marriage = rng.choice(_MARRIAGE_CODES, size=n, p=_MARRIAGE_SHARES / _MARRIAGE_SHARES.sum())
    age = np.clip(np.rint(21 + rng.gamma(3.0, 4.8, size=n)), 21, 79).astype(np.int64)
    sex = rng.choice([1, 2], size=n, p=[0.4, 0.6])
    education_risk = _lookup(_EDUCATION_CODES, _EDUCATION_RISK, education)
    risk = (rng.normal(size=n) + education_risk + 0.3 * (age < 26) - 0.15 * (age > 45)
            + 0.15 * (marriage == 2))
    risk = (risk - risk.mean()) / risk.std() if n > 1 else risk * 0.0

    raw_limit = np.exp(np.log(120_000) - 0.45 * risk + 0.015 * (age - 35)
                       - 0.3 * (education == 3) + 0.55 * rng.normal(size=n))
    limit = np.clip(np.rint(raw_limit / 10_000) * 10_000, 10_000, 800_000)

    # How the customer uses the card while current, persistent with monthly switches.
    kind = _card_use(rng, risk)
    usual_use = np.clip(rng.beta(2.2, 2.5, size=n) + 0.2 * risk, 0.02, 0.98)
    months = BURN_IN_MONTHS + N_MONTHS
    status = np.zeros((n, months), dtype=np.int64)
    bills = np.zeros((n, months))
    payments = np.zeros((n, months))
    late = np.zeros(n, dtype=np.int64)
    balance = usual_use * limit * (kind != _INACTIVE)
    shock = rng.normal(size=n) * 0.6
    for month in range(months):
        shock = 0.6 * shock + 0.8 * rng.normal(size=n)
        switch = rng.random(n) < 0.08
        kind = np.where(switch, _card_use(rng, risk), kind)
        owed = np.maximum(balance, 0.0)
        draw = rng.random(n)
        current = late == 0
        misses = current & (owed > 0) & (draw < _sigmoid(-3.3 + 1.2 * risk + 0.7 * shock))
        cures = ~current & (draw < _sigmoid(0.5 - 0.8 * risk - 0.35 * late - 0.4 * shock))
        holds = ~current & ~cures & ((draw < _sigmoid(0.5 - 0.8 * risk - 0.35 * late
                                                      - 0.4 * shock) + 0.4)
                                     | (late >= MAX_STATUS))   # a payment holds the arrears
        stays_current = current & ~misses
        cured_in_full = cures & (rng.random(n) < 0.25)

        minimum = owed * rng.uniform(0.035, 0.1, size=n)
        paid = np.zeros(n)
        paid = np.where(stays_current & (kind == _REVOLVING),
                        np.maximum(minimum, owed * rng.beta(1.2, 8.0, size=n)), paid)
        paid = np.where(stays_current & (kind != _REVOLVING), owed, paid)
        paid = np.where(cures, np.minimum(owed, minimum * (late + 1) * rng.uniform(1.0, 2.0, n)),
                        paid)
        paid = np.where(cured_in_full, owed, paid)
        paid = np.where(holds, minimum * rng.uniform(0.8, 1.2, size=n), paid)
        # Arrears settled by a payment: never a zero payment there (the adapter needs one).
        paid = np.where((cures | holds) & (paid < 1), np.maximum(owed, 1.0), paid)
        paid = np.minimum(np.rint(paid), np.rint(owed)).clip(min=0)
        paid = np.where((cures | holds) & (paid < 1), 1.0, paid)

        late = np.where(misses, 1, late)
        late = np.where(cures, 0, late)
        rises = ~current & ~cures & ~holds
        late = np.where(rises, late + 1, late)

        # New spending: none for an unused card, little while late, up to the usual use else.
        carried = (owed - paid) * np.where(late > 0, 1.02, 1.0125)
        target = usual_use * limit * rng.uniform(0.8, 1.2, size=n)
        spend = np.where(kind == _FULL, target * rng.uniform(0.15, 0.6, size=n),
                         np.maximum(target - carried, 0.0) * rng.uniform(0.2, 0.7, size=n))
        spend = np.where(late > 0, spend * 0.1, spend)
        spend = np.where((late == 0) & (kind == _INACTIVE), 0.0, spend)
        headroom = np.maximum(limit * 1.05 - carried, 0.0)
        balance = np.rint(carried + np.minimum(spend, headroom))
        balance = np.where((late == 0) & (kind != _REVOLVING) & (rng.random(n) < 0.02),
                           -rng.integers(1, 2_000, size=n), balance)     # rare credit balance

        status[:, month] = np.where(late > 0, late,
                                    np.where(cured_in_full | (kind == _FULL), _FULL,
                                             np.where(kind == _INACTIVE, _INACTIVE, _REVOLVING)))
        status[:, month] = np.where((late == 0) & (kind == _INACTIVE) & (balance != 0),
                                    _FULL, status[:, month])
        bills[:, month] = balance
        payments[:, month] = paid

    kept = slice(BURN_IN_MONTHS, months)
    status, bills, payments = status[:, kept], bills[:, kept], payments[:, kept]
    utilisation = np.clip(bills[:, -1] / limit, -0.5, 1.5)
    arrears = np.minimum(status[:, -1].clip(min=0), 3)
    shock = 0.6 * shock + 0.8 * rng.normal(size=n)
    default = rng.random(n) < _sigmoid(_LABEL_INTERCEPT + 0.9 * risk + 0.75 * arrears
                                       + 0.5 * utilisation + 0.4 * shock)

    columns: dict[str, np.ndarray] = {
        ID_COLUMN: np.arange(1, n + 1),
        LIMIT_COLUMN: limit,
        SEX_COLUMN: sex,
        **dict(zip(ATTRIBUTE_COLUMNS, (education, marriage, age), strict=True)),
        **{column: status[:, m] for m, column in enumerate(STATUS_COLUMNS)},
        **{column: bills[:, m] for m, column in enumerate(BILL_COLUMNS)},
        **{column: payments[:, m] for m, column in enumerate(PAYMENT_COLUMNS)},
        LABEL_COLUMN: default,
    }
    return pd.DataFrame(columns)[SOURCE_COLUMNS].astype("int64")


def _card_use(rng: np.random.Generator, risk: np.ndarray) -> np.ndarray:
    """Draw how each customer uses the card while current: riskier customers revolve more."""
    revolve = _sigmoid(0.9 + 0.9 * risk)
    inactive = 0.2 * _sigmoid(-0.5 - 0.5 * risk)
    draw = rng.random(risk.size)
    return np.where(draw < inactive, _INACTIVE,
                    np.where(draw < inactive + (1 - inactive) * revolve, _REVOLVING, _FULL))


def _lookup(codes: np.ndarray, values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    return pd.Series(values, index=codes).reindex(keys).to_numpy()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
