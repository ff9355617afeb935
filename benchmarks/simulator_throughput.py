"""Throughput and memory of the simulator writing a portfolio to disk in chunks.

    python benchmarks/simulator_throughput.py 200000
    python benchmarks/simulator_throughput.py            # 1,000,000 customers
    python benchmarks/simulator_throughput.py 200000 --chunk-size 20000 --tracemalloc

Prints rows per second for every table (rows over the whole generation time, writing included)
and the peak resident memory of the process; with ``--tracemalloc`` also the peak of memory
allocated through Python (numpy arrays included), which is slower to measure.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from credit_models.data.io import read_manifest
from credit_models.data.simulator import SimulatorConfig, generate_to_folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_customers", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=SimulatorConfig.chunk_size)
    parser.add_argument("--months", type=int, default=SimulatorConfig.months)
    parser.add_argument("--seed", type=int, default=SimulatorConfig.seed)
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also report the peak of Python-tracked allocations (slower)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    config = SimulatorConfig(
        n_customers=args.n_customers, chunk_size=args.chunk_size, months=args.months,
        seed=args.seed,
    )
    if args.tracemalloc:
        tracemalloc.start()
    with tempfile.TemporaryDirectory(prefix="simulator-benchmark-") as folder:
        started = time.perf_counter()
        root = generate_to_folder(config, Path(folder) / "portfolio",
                                  show_progress=not args.no_progress)
        elapsed = time.perf_counter() - started
        counts = read_manifest(root).details["row_counts"]
        size = sum(path.stat().st_size for path in root.rglob("*") if path.is_file())
    traced_peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None

    print(f"\n{config.n_customers:,} customers x {config.months} months, chunk size "
          f"{config.chunk_size:,}: {elapsed:.1f} s, "
          f"{config.n_customers / elapsed:,.0f} customers/s, {size / 2**20:,.0f} MiB on disk")
    print(f"{'table':<14}{'rows':>14}{'rows/s':>14}")
    for name, count in counts.items():
        print(f"{name:<14}{count:>14,}{count / elapsed:>14,.0f}")
    total = sum(counts.values())
    print(f"{'all tables':<14}{total:>14,}{total / elapsed:>14,.0f}")
    # ru_maxrss is in kibibytes on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    print(f"peak resident memory: {peak_rss / 2**20:,.0f} MiB")
    if traced_peak is not None:
        print(f"peak traced allocations: {traced_peak / 2**20:,.0f} MiB")


if __name__ == "__main__":
    main()
