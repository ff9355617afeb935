"""Speed of the limit policy and the backtest replay.

    python benchmarks/limit_policy.py                          # 20,000 customers, 9-month replay
    python benchmarks/limit_policy.py --customers 100000 --policy-rows 200000

Times, on a simulated portfolio (generated into ``--folder`` on first use):

* building the replay inputs (demand events, repayments, opening balances, the observed limit
  schedule) for the window after ``--as-of``;
* one replay of every order and insufficient-limit decline against the observed limits;
* ``decide_limits`` (target, review, campaign limits, texts) on ``--policy-rows`` synthetic
  customers, for the risk-based optimum (EL budget bisection on a 60-point grid) and for tiers.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from credit_models.data.io import read_tables
from credit_models.data.simulator import SimulatorConfig, generate_to_folder
from credit_models.limits.decisions import decide_limits, load_policy
from credit_models.limits.replay import (
    demand_events,
    observed_schedule,
    opening_balance,
    repayment_events,
    replay,
)
from credit_models.paths import config_dir

LEVELS = (0.5, 0.9)


def synthetic_portfolio(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    median = np.exp(rng.normal(7.5, 0.8, rows))
    current = np.round(median * rng.uniform(0.5, 4, rows), -2)
    return pd.DataFrame({
        "pd": np.clip(rng.lognormal(-3.5, 1.0, rows), 0, 1), "capacity_q50": median,
        "capacity_q90": median * np.exp(rng.uniform(0.2, 1.2, rows)), "current_limit": current,
        "balance": current * rng.uniform(0, 1, rows),
        "months_since_delinquency": np.where(rng.random(rows) < 0.2, 3.0, np.nan),
        "months_since_raise": np.where(rng.random(rows) < 0.3, 4.0, np.nan),
    }, index=pd.Index(np.arange(rows), name="customer_id"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--folder", default="data/generated/benchmark-limits")
    parser.add_argument("--as-of", default="2024-10-01")
    parser.add_argument("--months", type=int, default=9)
    parser.add_argument("--policy-rows", type=int, default=100_000)
    args = parser.parse_args(argv)

    root = Path(args.folder) / f"portfolio_{args.customers}"
    if not (root / "manifest.json").exists():
        generate_to_folder(SimulatorConfig(n_customers=args.customers, seed=7), root)
    tables = read_tables(root)
    start = pd.Timestamp(args.as_of, tz="UTC")
    end = start + pd.DateOffset(months=args.months)

    began = time.perf_counter()
    demand = demand_events(tables["orders"], tables.get("declines"), start, end)
    repaid = repayment_events(tables["repayments"], start, end)
    opening = opening_balance(tables["orders"], tables["repayments"], start)
    schedule = observed_schedule(tables["limit_events"], start, end)
    prepared = time.perf_counter() - began
    began = time.perf_counter()
    result = replay(demand, repaid, schedule, opening)
    replayed = time.perf_counter() - began
    print(f"replay inputs {prepared:.2f}s; replay of {len(demand):,} demand events and "
          f"{len(repaid):,} repayments for {schedule['customer_id'].nunique():,} customers "
          f"{replayed:.2f}s ({len(demand) / replayed:,.0f} events/s); declined "
          f"{1 - result.orders['accepted'].mean():.2%}")

    raw = yaml.safe_load((config_dir() / "policy" / "default.yaml").read_text("utf-8"))
    portfolio = synthetic_portfolio(args.policy_rows, seed=1)
    for method in ("optimum", "tiers"):
        policy = load_policy({**raw, "method": method}, LEVELS)
        began = time.perf_counter()
        decide_limits(portfolio, policy, LEVELS, start, 6)
        took = time.perf_counter() - began
        print(f"decide_limits ({method}) on {len(portfolio):,} customers {took:.2f}s "
              f"({len(portfolio) / took:,.0f} customers/s)")


if __name__ == "__main__":
    main()
