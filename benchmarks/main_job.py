"""Wall time of the main job (``credit-models-train`` on the embedded default), per stage.

    python benchmarks/main_job.py                      # cold, then warm, in a scratch folder
    python benchmarks/main_job.py --runs warm --repeat 3 --workdir /tmp/main_job
    python benchmarks/main_job.py --overrides model.params.max_depth=5

Each run is the console script in a fresh process, as a user runs it, from ``--workdir``:

``cold``  nothing there yet: the simulator writes the portfolio, every feature is built, the
          selection is fitted, the MLflow store is created.
``warm``  the second run of the same command: the generated data, the feature matrix and the
          fitted selection are read back from ``data/``; the model, its calibration, the
          explanations and the MLflow run are made again (each warm run logs a new run and
          registers a new version, as a user's second run does).

The stages are read from the job's own log lines (``[  12.3s] …``, seconds since the job
started); "start-up" is the time before the first of them (Python, imports, Hydra, the store),
"logging" the time from the metrics line to the end of the MLflow run, "exit" what follows.
The OOT AUC of each run is printed too: a faster job must give the same model.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGE_LINE = re.compile(r"\]\[credit_models\.train\]\[INFO\] - \[\s*([\d.]+)s\] (.*)$")
STAGES = (
    ("data set", "data (generate or read, validate)"),
    ("labels", "labels"),
    ("split", "split"),
    ("features for", "features"),
    ("feature selection", "selection"),
    ("trained", "fit, refit, calibration"),
    ("metrics", "metrics, oracle, explanations"),
    ("MLflow run", "logging (reports, plots, model)"),
)
AUC_LINE = re.compile(r"OOT AUC ([\d.]+)")


def stage_times(output: str) -> list[tuple[str, float]]:
    """(stage, seconds) from the job's timed log lines, in order; each stage's time is from the
    previous line to its own."""
    marks = [(float(match.group(1)), match.group(2))
             for line in output.splitlines() if (match := STAGE_LINE.search(line))]
    times, previous = [], 0.0
    for seconds, message in marks:
        name = next((label for key, label in STAGES if key in message), message[:40])
        if name == "split" and any(label == "split" for label, _ in times):
            continue
        times.append((name, seconds - previous))
        previous = seconds
    return times


def run_once(workdir: Path, overrides: list[str]) -> tuple[float, list[tuple[str, float]], str]:
    script = Path(sys.executable).with_name("credit-models-train")
    started = time.perf_counter()
    completed = subprocess.run([str(script), *overrides], cwd=workdir, capture_output=True,
                               text=True, check=False)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"the job failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    output = completed.stdout + completed.stderr
    auc = AUC_LINE.search(output)
    return wall, stage_times(output), auc.group(1) if auc else "?"


def report(label: str, wall: float, stages: list[tuple[str, float]], auc: str) -> None:
    accounted = sum(seconds for _, seconds in stages)
    first = stages[0][1] if stages else 0.0
    print(f"\n{label}: {wall:.1f} s wall, OOT AUC {auc}")
    print(f"  {'start-up and data':<34} {first:6.1f} s")
    for name, seconds in stages[1:]:
        print(f"  {name:<34} {seconds:6.1f} s")
    print(f"  {'exit':<34} {wall - accounted:6.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", choices=["cold", "warm", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1, help="warm runs to time")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the job runs (default: a scratch folder, removed after)")
    parser.add_argument("--overrides", nargs="*", default=[])
    args = parser.parse_args()
    scratch = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="main_job_")) if scratch else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if args.runs in ("cold", "both"):
            report("cold", *run_once(workdir, args.overrides))
        if args.runs in ("warm", "both"):
            for number in range(1, args.repeat + 1):
                report(f"warm {number}", *run_once(workdir, args.overrides))
    finally:
        if scratch:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
