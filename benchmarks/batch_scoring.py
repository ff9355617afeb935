"""Throughput and memory of batch scoring (`credit-models-score`'s :func:`score_parquet`).

    python benchmarks/batch_scoring.py                       # 1,000,000 rows × 100 features
    python benchmarks/batch_scoring.py --rows 200000 --batch-rows 20000,100000

Builds, once per folder, a synthetic Parquet input (95 numeric features with missing values and 5
text features) and a small XGBoost PD model logged as the serving pyfunc and registered in a
throw-away SQLite store; then scores the input in a fresh child process per batch size, so each
peak resident memory (``ru_maxrss``) is that of scoring alone. Prints rows per second and the
peak memory, next to the memory the process held once the model was loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

NUMERIC, TEXT = 95, 5
CATEGORIES = [f"level_{index}" for index in range(8)]
MODEL_NAME = "pd_benchmark"


def _max_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024      # kilobytes on Linux


def _current_rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def feature_chunk(rows: int, seed: int, first_id: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {
        "customer_id": np.arange(first_id, first_id + rows, dtype=np.int64),
        "as_of": pd.Timestamp("2024-06-01", tz="UTC"),
    }
    for index in range(NUMERIC):
        values = np.round(rng.gamma(2.0, 10.0 + index, rows), 2)
        values[rng.random(rows) < 0.05 + 0.002 * index] = np.nan
        columns[f"feature_{index:03d}"] = values
    for index in range(TEXT):
        columns[f"text_{index}"] = pd.Categorical(rng.choice(CATEGORIES, rows),
                                                  categories=CATEGORIES)
    return pd.DataFrame(columns)


def prepare_input(path: Path, rows: int, chunk_rows: int = 100_000) -> None:
    """Written chunk by chunk, so preparing the input never holds it whole."""
    if path.exists() and pq.read_metadata(path).num_rows == rows:
        return
    partial = path.with_suffix(".partial")
    writer = None
    for start in range(0, rows, chunk_rows):
        table = pa.Table.from_pandas(
            feature_chunk(min(chunk_rows, rows - start), seed=start, first_id=start),
            preserve_index=False)
        writer = writer or pq.ParquetWriter(partial, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=chunk_rows)
    writer.close()
    partial.replace(path)


def prepare_model(folder: Path) -> str:
    """A 150-tree XGBoost model on 20,000 rows, registered as ``pd_benchmark`` version 1."""
    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    marker = folder / "model_registered"
    if marker.exists():
        return tracking_uri
    import mlflow
    import xgboost as xgb
    from mlflow.models import infer_signature

    from credit_models.models.pd_model import PdModel
    from credit_models.models.xgb_pd import model_inputs
    from credit_models.tracking.pd_pyfunc import (
        OUTPUT_COLUMNS,
        ProbabilityOfDefaultModel,
        feature_contract,
        public_inputs,
        write_model_files,
    )

    frame = feature_chunk(20_000, seed=12345, first_id=0)
    features = [name for name in frame.columns if name.startswith(("feature_", "text_"))]
    rng = np.random.default_rng(0)
    log_odds = (-2.5 + 0.02 * frame["feature_000"].fillna(20) - 0.01 * frame["feature_001"]
                .fillna(20) + 0.5 * (frame["text_0"] == "level_3"))
    is_bad = rng.random(len(frame)) < 1 / (1 + np.exp(-log_odds))
    inputs = model_inputs(frame, features)
    estimator = xgb.XGBClassifier(n_estimators=150, max_depth=4, learning_rate=0.05,
                                  enable_categorical=True, tree_method="hist", n_jobs=1)
    estimator.fit(inputs, is_bad.astype(np.int8))
    model = PdModel.from_fitted(estimator, features)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("benchmark")
    example = public_inputs(inputs.head(5))
    signature = infer_signature(
        example, pd.DataFrame({name: np.zeros(len(example)) for name in OUTPUT_COLUMNS}))
    with mlflow.start_run():
        files = write_model_files(model, feature_contract(inputs, {}), folder)
        mlflow.pyfunc.log_model(name="model", python_model=ProbabilityOfDefaultModel(),
                                artifacts=files, signature=signature,
                                registered_model_name=MODEL_NAME)
    marker.touch()
    return tracking_uri


def score_once(tracking_uri: str, source: Path, output: Path, batch_rows: int) -> dict:
    """Runs in the child process: load the model, score, report."""
    import mlflow

    from credit_models.tracking.model_loading import load_pd_model
    from credit_models.workflows.scoring import score_parquet

    mlflow.set_tracking_uri(tracking_uri)
    model = load_pd_model(f"models:/{MODEL_NAME}/1")
    loaded_rss = _current_rss_mib()
    started = time.perf_counter()
    result = score_parquet(model, source, output, batch_rows=batch_rows)
    seconds = time.perf_counter() - started
    return {"batch_rows": batch_rows, "rows": result.rows, "seconds": round(seconds, 2),
            "rows_per_second": round(result.rows / seconds),
            "rss_after_model_load_mib": round(loaded_rss),
            "peak_rss_mib": round(_max_rss_mib())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", default="100000",
                        help="comma-separated batch sizes, one child process each")
    parser.add_argument("--folder", type=Path, default=Path("data/generated/bench-scoring"))
    parser.add_argument("--threads", type=int, default=1,
                        help="OMP/XGBoost threads of the scoring process")
    parser.add_argument("--worker", nargs=4, metavar=("URI", "SOURCE", "OUTPUT", "BATCH"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        uri, source, output, batch = args.worker
        print(json.dumps(score_once(uri, Path(source), Path(output), int(batch))))
        return

    args.folder.mkdir(parents=True, exist_ok=True)
    source = args.folder / f"input_{args.rows}.parquet"
    started = time.perf_counter()
    prepare_input(source, args.rows)
    tracking_uri = prepare_model(args.folder)
    size = source.stat().st_size / 2**20
    print(f"input {source} ({args.rows:,} rows × {NUMERIC + TEXT} features, {size:,.0f} MiB), "
          f"model ready in {time.perf_counter() - started:.0f}s; scoring with "
          f"{args.threads} thread(s)")
    environment = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    results = []
    for batch_rows in (int(value) for value in args.batch_rows.split(",")):
        output = args.folder / f"scores_{args.rows}_{batch_rows}.parquet"
        completed = subprocess.run(
            [sys.executable, __file__, "--worker", tracking_uri, str(source), str(output),
             str(batch_rows)],
            capture_output=True, text=True, env=environment, check=False,
        )
        if completed.returncode != 0:
            sys.exit(completed.stderr[-3000:])
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"batch_rows {batch_rows:>9,}: {result['rows']:,} rows in {result['seconds']:.1f}s "
              f"= {result['rows_per_second']:,} rows/s; peak RSS {result['peak_rss_mib']:,} MiB "
              f"({result['rss_after_model_load_mib']:,} MiB after loading the model)")
        output.unlink(missing_ok=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
