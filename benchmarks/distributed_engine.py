"""The Dask engine end to end, per stage, against the local engine: wall time and peak memory.

    python benchmarks/distributed_engine.py --customers 20000 --partition-customers 10000
    python benchmarks/distributed_engine.py --customers 100000,300000 \\
        --output-json outputs/bench/distributed.json
    nohup python benchmarks/distributed_engine.py --customers 1000000 --engines dask \\
        --output-json outputs/bench/distributed-1m.json > outputs/bench/distributed-1m.log 2>&1 &

Per size, the simulator writes the data set under ``--data-root`` (one customer partition per
``--partition-customers``; a data set already there with the same config is reused), timed on
its own: it is not part of "end to end". Then, per engine, one fresh child process runs the
toolkit's own functions on the settings a job composes (``cm.load_settings("train", ...)``):

``rows``     ``prepare_pd_training``: data read and validated, labels, split, features at the
             last ``--snapshots`` month starts whose performance window is complete, selection
             (with ``engine=dask`` the per-partition work runs on a LocalCluster);
``fit``      ``fit_and_evaluate`` inside ``engine_session`` (dask: trees grown by xgboost.dask on
             the same cluster), early stopping, refit and calibration as the job does them;
``score``    ``predict_proba`` of a 10,000-row sample of the test split, in the job process;
``explain``  ``model_contributions`` (TreeSHAP) of the same sample, in the job process.

Nothing is logged to MLflow and the feature cache is off (every run computes its features).
Peak memory: the job process's own peak RSS (``getrusage(RUSAGE_SELF)``), the peak of its
child processes (``os.wait4``: Dask workers, or the local engine's feature processes), and per
Dask worker its own ``ru_maxrss`` read with ``client.run`` at the end of every stage. Workers are
fresh processes per LocalCluster, so that value is their peak since the run began (a worker
restarted for memory starts again from zero: the restarts are counted).

A run (either engine: the Dask engine gathers the feature matrix into the job process) is
stopped, and reported as such with the stages it finished, when the machine's available memory
falls under ``--min-available-gib``; sizes above ``--local-max-customers`` run the Dask engine
only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

SAMPLE_ROWS = 10_000
PACKAGES = ("credit-models", "numpy", "pandas", "pyarrow", "xgboost", "dask", "distributed",
            "scikit-learn")
STAGE_ORDER = ("cluster start", "start", "read + validate", "labels + features", "labels",
               "split", "features", "selection", "fit", "score", "explain")
STAGE_NAMES = (
    ("data set", "read + validate"),
    ("labels and", "labels + features"),
    ("labels", "labels"),
    ("split", "split"),
    ("features for", "features"),
    ("feature selection", "selection"),
)


def _mib(kib: float) -> float:
    """ru_maxrss is KiB on Linux."""
    return kib / 1024


def _meminfo_available_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 2**20
    return float("inf")


# ---------------------------------------------------------------- child: one engine, one size


def _dataset_path(root: str, customers: int, partition: int, seed: int) -> str:
    return f"{root}/distributed-bench-{customers}-part{partition}-seed{seed}"


def _overrides(args: argparse.Namespace, engine: str) -> list[str]:
    overrides = [
        f"data.simulator.n_customers={args.customers_one}",
        f"data.simulator.chunk_size={args.partition_customers}",
        "data.path=" + _dataset_path(args.data_root, args.customers_one,
                                     args.partition_customers, args.seed),
        f"seed={args.seed}",
        "engine.feature_cache_dir=null",
    ]
    if engine == "dask":
        overrides += ["engine=dask", f"engine.n_workers={args.n_workers}",
                      f"engine.threads_per_worker={args.threads_per_worker}",
                      f"engine.memory_limit={args.memory_limit}"]
    if args.first_as_of:
        overrides += [f"features.snapshots.first_as_of={args.first_as_of}",
                      f"features.snapshots.last_as_of={args.last_as_of}"]
    return overrides


def _worker_peaks(client: Any) -> dict[str, float]:
    """Each worker's own peak RSS (MiB) since it started."""
    def peak() -> int:
        import resource as worker_resource
        return worker_resource.getrusage(worker_resource.RUSAGE_SELF).ru_maxrss

    return {address: round(_mib(kib), 1) for address, kib in client.run(peak).items()}


def run_child(args: argparse.Namespace) -> None:
    """One engine on one data set, stage by stage; the result file is rewritten after each stage
    so that a run stopped part-way still reports the stages it finished."""
    import credit_models as cm

    started = time.perf_counter()
    result: dict[str, Any] = {"engine": args.engine, "stages": [], "complete": False}
    output = Path(args.child_output)

    def save() -> None:
        output.write_text(json.dumps(result, indent=1))

    settings = cm.load_settings("train", _overrides(args, args.engine))
    result["settings_s"] = round(time.perf_counter() - started, 2)
    try:
        _run_stages(args, settings, result, save)
    except BaseException as error:      # the stages that finished stay in the result
        result["error"] = f"{type(error).__name__}: {str(error)[:1000]}"
        save()
        raise


def _run_stages(args: argparse.Namespace, settings: Any, result: dict[str, Any],
                save: Any) -> None:
    import credit_models as cm
    from credit_models.workflows.distributed.cluster import engine_session, open_cluster
    from credit_models.workflows.pd_training import fit_and_evaluate, prepare_pd_training

    dask = args.engine == "dask"
    state: dict[str, Any] = {"client": None, "previous": time.perf_counter(), "workers": set()}

    def mark(name: str, message: str = "") -> None:
        now = time.perf_counter()
        entry = {"stage": name, "seconds": round(now - state["previous"], 2),
                 "job_peak_mib": round(_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss), 1),
                 "children_peak_mib": round(
                     _mib(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss), 1),
                 "message": message[:300]}
        if state["client"] is not None:
            peaks = _worker_peaks(state["client"])
            state["workers"].update(peaks)
            entry["worker_peak_mib"] = peaks
        result["stages"].append(entry)
        save()
        print(f"  [{args.engine} {now - state['started']:7.1f}s] {name}: {entry['seconds']:.1f} s"
              f"{' - ' + message[:120] if message else ''}", flush=True)
        state["previous"] = time.perf_counter()    # worker reads are not charged to a stage

    def stage(message: str, *values: Any) -> None:
        text = message % values if values else message
        head = text.lstrip("0123456789 ")       # "190 features for ..." (local engine)
        name = next((label for key, label in STAGE_NAMES if head.startswith(key)), text[:30])
        mark(name, text)

    state["started"] = time.perf_counter()
    state["previous"] = state["started"]
    with engine_session(settings.engine):
        cluster = open_cluster(settings.engine) if dask else nullcontext((None, None))
        with cluster as (client, info):
            if info is not None:
                result["cluster"] = info.describe()
            state["client"] = client
            mark("cluster start" if dask else "start")
            prepared = prepare_pd_training(settings, stage)
            table = prepared.table
            result["rows"] = len(table.inputs)
            result["features"] = int(table.inputs.shape[1])
            result["split_rows"] = {str(k): int(v) for k, v in table.split.value_counts().items()}
            evaluated = fit_and_evaluate(table, settings.model, settings.seed, prepared.data,
                                         refit=settings.refit)
            test = prepared.test_split
            result["oot_auc"] = evaluated.metrics.get(f"{test}/auc")
            result["trees"] = evaluated.model.summary().get("trees")
            mark("fit", f"{test} AUC {result['oot_auc']:.4f}, {result['trees']} trees")
            restarts = len(state["workers"] - set(_worker_peaks(client))) if dask else 0
            result["worker_restarts"] = restarts
            state["client"] = None          # score and explain run in the job process
        rows = table.inputs[table.split == test]
        sample = rows.sample(min(SAMPLE_ROWS, len(rows)), random_state=settings.seed)
        sample = sample[list(evaluated.model.feature_names_in_)]
        state["previous"] = time.perf_counter()
        probability = evaluated.model.predict_proba(sample)[:, 1]
        mark("score", f"{len(sample):,} rows, mean PD {probability.mean():.4f}")
        contributions = cm.model_contributions(evaluated.model, sample)
        mark("explain", f"{len(sample):,} rows x {len(sample.columns)} features "
                        f"({type(contributions).__name__})")
    result["end_to_end_s"] = round(sum(entry["seconds"] for entry in result["stages"]), 2)
    result["complete"] = True
    result["job_peak_mib"] = round(_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss), 1)
    save()


def run_generate(args: argparse.Namespace) -> None:
    """Generate (or reuse) the data set; write its extraction date and partition count."""
    import credit_models as cm
    from credit_models.data.io import read_manifest
    from credit_models.workflows.dataset import materialise

    settings = cm.load_settings("train", _overrides(args, "local"))
    started = time.perf_counter()
    path = materialise(settings.data, show_progress=False)
    seconds = time.perf_counter() - started
    manifest = read_manifest(path)
    parts = sorted((Path(path) / "customers").glob("*.parquet"))
    Path(args.child_output).write_text(json.dumps({
        "path": str(path), "seconds": round(seconds, 2),
        "extraction_date": manifest.extraction_timestamp.isoformat(),
        "performance_months": settings.labels.performance_months,
        "partitions": len(parts),
        "row_counts": manifest.details.get("row_counts", {}),
        "bytes_on_disk": sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()),
    }))


# ---------------------------------------------------------------- parent: sizes and engines


def _spawn(mode: str, args: argparse.Namespace, customers: int, engine: str,
           extra: list[str], watch_memory: bool) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """A fresh child process; (its result, how it ended: wall s, rc, tree peak RSS)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result_file = handle.name
    command = [sys.executable, __file__, f"--_child={mode}", f"--_child-output={result_file}",
               f"--_engine={engine}", f"--customers={customers}",
               f"--partition-customers={args.partition_customers}", f"--seed={args.seed}",
               f"--data-root={args.data_root}", f"--n-workers={args.n_workers}",
               f"--threads-per-worker={args.threads_per_worker}",
               f"--memory-limit={args.memory_limit}", *extra]
    started = time.perf_counter()
    process = subprocess.Popen(command, start_new_session=True)
    stopped = None
    low = float("inf")
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        available = _meminfo_available_gib()
        low = min(low, available)
        if watch_memory and available < args.min_available_gib and stopped is None:
            stopped = f"stopped: {available:.1f} GiB available (< {args.min_available_gib})"
            print(f"  {engine}: {stopped}", flush=True)
            os.killpg(process.pid, signal.SIGKILL)
        time.sleep(1.0)
    ended = {"wall_s": round(time.perf_counter() - started, 2),
             "returncode": os.waitstatus_to_exitcode(status),
             "process_tree_peak_mib": round(_mib(usage.ru_maxrss), 1),
             "lowest_available_gib": round(low, 2)}
    if stopped:
        ended["stopped"] = stopped
    try:
        text = Path(result_file).read_text()
        result = json.loads(text) if text else None
    except (OSError, json.JSONDecodeError):
        result = None
    finally:
        Path(result_file).unlink(missing_ok=True)
    return result, ended


def _snapshot_range(extraction: str, performance_months: int, snapshots: int) -> tuple[str, str]:
    """The last ``snapshots`` month starts whose performance window ends by the extraction."""
    import pandas as pd

    last = (pd.Timestamp(extraction).tz_convert(None).normalize().replace(day=1)
            - pd.DateOffset(months=performance_months))
    first = last - pd.DateOffset(months=snapshots - 1)
    return first.date().isoformat(), last.date().isoformat()


def _stage_table(customers: int, runs: dict[str, dict[str, Any]]) -> None:
    names: list[str] = list(STAGE_ORDER)
    for run in runs.values():
        for entry in (run.get("result") or {}).get("stages", []):
            if entry["stage"] not in names:
                names.append(entry["stage"])
    names = [name for name in names if any(
        entry["stage"] == name for run in runs.values()
        for entry in (run.get("result") or {}).get("stages", []))]
    engines = list(runs)
    header = f"{'stage':<20}" + "".join(
        f"{e + ' s':>10}{e + ' job MiB':>16}" + (f"{'worker MiB (max)':>18}" if e == "dask" else "")
        for e in engines)
    print(f"\n{customers:,} customers\n{header}")
    for name in names:
        line = f"{name:<20}"
        for engine in engines:
            entries = {e["stage"]: e for e in (runs[engine].get("result") or {}).get("stages", [])}
            entry = entries.get(name)
            if entry is None:
                line += f"{'-':>10}{'-':>16}" + (f"{'-':>18}" if engine == "dask" else "")
                continue
            line += f"{entry['seconds']:>10.1f}{entry['job_peak_mib']:>16,.0f}"
            if engine == "dask":
                peaks = entry.get("worker_peak_mib") or {}
                line += f"{max(peaks.values()):>18,.0f}" if peaks else f"{'(job)':>18}"
        print(line)
    for engine, run in runs.items():
        result = run.get("result") or {}
        print(f"  {engine}: end to end {result.get('end_to_end_s', '-')} s"
              f" (child wall {run['ended']['wall_s']} s, settings {result.get('settings_s')} s),"
              f" OOT AUC {result.get('oot_auc')}, {result.get('rows', '-')} rows x "
              f"{result.get('features', '-')} features, process tree peak "
              f"{run['ended']['process_tree_peak_mib']:,.0f} MiB, rc {run['ended']['returncode']}"
              f"{', ' + run['ended']['stopped'] if 'stopped' in run['ended'] else ''}"
              f"{', ' + result['error'][:300] if result.get('error') else ''}")


def _summary(sizes: dict[str, Any]) -> None:
    print("\nSummary")
    print(f"{'customers':>10} {'engine':<7}{'end to end s':>14}{'job peak MiB':>14}"
          f"{'worker peak MiB':>17}{'OOT AUC':>10}")
    for customers, size in sizes.items():
        for engine, run in size["engines"].items():
            result = run.get("result") or {}
            peaks = [max((entry.get("worker_peak_mib") or {0: 0}).values())
                     for entry in result.get("stages", [])]
            done = "" if result.get("complete") else " (incomplete)"
            auc = result.get("oot_auc")
            job_peak = result.get("job_peak_mib", max(
                (entry["job_peak_mib"] for entry in result.get("stages", [])), default=0))
            worker = f"{max(peaks, default=0):>17,.0f}" if engine == "dask" else f"{'-':>17}"
            print(f"{int(customers):>10,} {engine:<7}{result.get('end_to_end_s', float('nan')):>14}"
                  f"{job_peak:>14,.0f}{worker}"
                  f"{auc if auc is None else round(auc, 4)!s:>10}{done}")
        aucs = [(run.get("result") or {}).get("oot_auc") for run in size["engines"].values()]
        if len(aucs) == 2 and None not in aucs:
            size["auc_difference"] = abs(aucs[0] - aucs[1])
            print(f"{'':>10} OOT AUC difference {size['auc_difference']:.5f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", default="100000,300000,1000000",
                        help="comma-separated sizes")
    parser.add_argument("--partition-customers", type=int, default=50_000,
                        help="the simulator's chunk_size: customers per partition")
    parser.add_argument("--n-workers", type=int, default=2)
    parser.add_argument("--threads-per-worker", type=int, default=1)
    parser.add_argument("--memory-limit", default="4GiB")
    parser.add_argument("--snapshots", type=int, default=6,
                        help="the last N month starts with a complete performance window")
    parser.add_argument("--engines", default="dask,local")
    parser.add_argument("--local-max-customers", type=int, default=300_000)
    parser.add_argument("--min-available-gib", type=float, default=1.5,
                        help="stop a run when the machine's available memory falls under this")
    parser.add_argument("--data-root", default="data/generated")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output-json", type=Path, default=None)
    parser.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--_child-output", dest="child_output", help=argparse.SUPPRESS)
    parser.add_argument("--_engine", dest="engine", default="dask", help=argparse.SUPPRESS)
    parser.add_argument("--_first-as-of", dest="first_as_of", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--_last-as-of", dest="last_as_of", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [int(value) for value in args.customers.split(",")]
    if args._child:
        args.customers_one = sizes[0]
        {"run": run_child, "generate": run_generate}[args._child](args)
        return

    report: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
                                        / 2**30, 1)},
        "versions": {name: _version(name) for name in PACKAGES},
        "arguments": {key: value for key, value in vars(args).items()
                      if not key.startswith("_") and key not in ("child_output", "engine",
                                                                  "first_as_of", "last_as_of")},
        "mlflow_logging": False, "feature_cache": False,
        "scoring": "a 10,000-row sample scored and explained in the job process",
        "sizes": {},
    }
    report["arguments"]["output_json"] = str(args.output_json)
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]

    def save() -> None:
        if args.output_json:
            args.output_json.parent.mkdir(parents=True, exist_ok=True)
            args.output_json.write_text(json.dumps(report, indent=1, default=str))

    for customers in sizes:
        size: dict[str, Any] = {"load_average_before": os.getloadavg(), "engines": {}}
        report["sizes"][str(customers)] = size
        print(f"\n== {customers:,} customers: data set", flush=True)
        generated, ended = _spawn("generate", args, customers, "local", [], watch_memory=False)
        if generated is None:
            size["generate"] = {"ended": ended, "error": "generation failed"}
            save()
            continue
        generated["process_tree_peak_mib"] = ended["process_tree_peak_mib"]
        generated["child_wall_s"] = ended["wall_s"]
        size["generate"] = generated
        first, last = _snapshot_range(generated["extraction_date"],
                                      generated["performance_months"], args.snapshots)
        size["snapshots"] = {"first_as_of": first, "last_as_of": last, "count": args.snapshots}
        print(f"   {generated['path']}: {generated['partitions']} partitions, "
              f"{generated['seconds']:.1f} s (peak {ended['process_tree_peak_mib']:,.0f} MiB); "
              f"snapshots {first} .. {last}", flush=True)
        for engine in engines:
            if engine == "local" and customers > args.local_max_customers:
                continue
            print(f"-- {engine} engine", flush=True)
            load = os.getloadavg()
            result, ended = _spawn("run", args, customers, engine,
                                   [f"--_first-as-of={first}", f"--_last-as-of={last}"],
                                   watch_memory=True)
            size["engines"][engine] = {"result": result, "ended": ended,
                                       "load_average_before": load,
                                       "load_average_after": os.getloadavg()}
            save()
        size["load_average_after"] = os.getloadavg()
        _stage_table(customers, size["engines"])
        save()
    _summary(report["sizes"])
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    save()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
