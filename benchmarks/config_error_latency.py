"""How long each console script takes to refuse a bad config (exit 2, one line).

    python benchmarks/config_error_latency.py              # every job, 3 runs each
    python benchmarks/config_error_latency.py --runs 5 --jobs train,tune

A config error should answer in seconds: the runner builds the job's settings before it touches
the MLflow store or loads the training stack (MLflow, optbinning, matplotlib). Each job runs from
its installed console script in an empty scratch folder with an override its settings refuse; the
script prints the median wall and user CPU seconds per job (user CPU does not depend on the
machine's load), and says when a job exited with another code than 2, printed more than one line,
or left an MLflow store behind.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BAD_OVERRIDES: dict[str, list[str]] = {
    "train": ["model.params.max_depth=six"],
    "train+": ["+model.params.max_dept=6"],
    "tune": ["tuning.n_trials=0"],
    "limits": ["model.params.max_depth=six"],
    "score": ["input=in.parquet", "output=out.parquet", "batch_rows=0"],
    "monitor": ["input=in.parquet", "monitoring.top_features=0"],
    "explain": ["model_uri=models:/pd_xgb@champion", "as_of=2025-01-01", "top_k=0"],
    "compare": ["bins=1"],
    "promote": ["bins=1"],
    "data": ["generate", "data.simulator.months=1000"],
}
"""Job (``+`` marks a second case of the same job) → an override its config refuses."""


def run_once(job: str, overrides: list[str], folder: Path) -> tuple[float, float, int, str]:
    """(wall seconds, user CPU seconds, exit code, stderr) of one run of the console script."""
    script = Path(sys.executable).with_name(f"credit-models-{job.rstrip('+')}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    started = time.perf_counter()
    completed = subprocess.run(
        [str(script), *overrides, f"hydra.run.dir={folder / 'hydra'}"],
        capture_output=True, text=True, cwd=folder, check=False,
        env={**os.environ, "MLFLOW_ENABLE_TELEMETRY": "false"},
    )
    wall = time.perf_counter() - started
    user = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before
    return wall, user, completed.returncode, completed.stderr


def problems(code: int, stderr: str, folder: Path) -> list[str]:
    found = []
    if code != 2:
        found.append(f"exit {code}")
    lines = stderr.strip().splitlines()
    if len(lines) != 1:
        found.append(f"{len(lines)} lines on stderr: {stderr.strip()[-300:]!r}")
    if list(folder.glob("*.db")):
        found.append("an MLflow store was created")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", default=",".join(BAD_OVERRIDES),
                        help=f"comma-separated, of {', '.join(BAD_OVERRIDES)}")
    args = parser.parse_args()
    print(f"{'job':<9} {'override':<42} {'wall s':>7} {'user s':>7}  message")
    for job in args.jobs.split(","):
        overrides = BAD_OVERRIDES[job]
        walls, users, notes, message = [], [], set(), ""
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as scratch:
                folder = Path(scratch)
                wall, user, code, stderr = run_once(job, overrides, folder)
                notes.update(problems(code, stderr, folder))
            walls.append(wall)
            users.append(user)
            message = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        print(f"{job:<9} {overrides[-1]:<42} {statistics.median(walls):7.2f} "
              f"{statistics.median(users):7.2f}  {message[:90]}")
        for note in sorted(notes):
            print(f"          ! {note}")


if __name__ == "__main__":
    main()
