"""Speed of per-row explanations: shap's TreeExplainer against XGBoost's own ``pred_contribs``.

    python benchmarks/explain_speed.py                     # 100,000 rows x 100 features, 600 trees
    python benchmarks/explain_speed.py --categorical 0     # numeric only: adds shap's own walker
    python benchmarks/explain_speed.py --rows 20000 --trees 200 --output-json outputs/bench/explain.json

A 600-tree, depth-4 XGBoost PD model (hist, native categoricals) is fitted on synthetic rows whose
columns carry names of the default feature spec (``conf/features/default.yaml``), ``--categorical``
of them categorical. Then the same rows are explained by:

* ``pred_contribs``: ``Booster.predict(pred_contribs=True)``, XGBoost's TreeSHAP, on 1 and on 2
  threads (``nthread`` of a copy of the booster);
* ``shap.TreeExplainer``: path-dependent, no background data, on 1 and 2 threads, timed from the
  explainer's construction (it parses the model) to the values. For XGBoost models it hands the
  computation to ``pred_contribs``, so it agrees to the bit and costs the parsing on top;
* shap's own TreeSHAP walker (``model_type="internal"``), a separate implementation on one thread,
  only when no feature is categorical (it reads set splits as thresholds), on ``--walker-rows``
  rows and scaled to the full count;
* the reason codes (default dictionary, top 4, medians as reference) built from the contributions.

The construction of ``shap.TreeExplainer`` (parsing the model) is also timed on its own: it is
the whole of shap's extra cost.

Each method runs ``--repeat`` times and keeps the fastest; the maximum absolute difference to
``pred_contribs`` (1 thread) and the worst additivity error (contributions + base vs margin) are
printed, with the CPU seconds of the process (on a busy machine, wall time over CPU time shows
how much a second thread actually got). Figures on the benchmark machine (2 cores), 100,000 rows x 100 features, 600 trees:
see the README's "Explaining a model".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shap
import xgboost as xgb
import yaml

from credit_models.explain.contributions import (
    independent_tree_shap,
    tree_range,
    tree_shap_contributions,
    xgboost_contributions,
)
from credit_models.explain.reason_codes import ReasonDictionary, reason_codes, reference_values
from credit_models.features.spec import parse_feature_spec
from credit_models.paths import config_dir


def synthetic_rows(rows: int, features: int, categorical: int, seed: int
                   ) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows with default-spec feature names: a few carry signal, some are missing, the last
    ``categorical`` ones are categories."""
    raw = yaml.safe_load((config_dir() / "features" / "default.yaml").read_text())
    names = parse_feature_spec(raw).feature_names
    names = names[: features - categorical] + [
        f"customer__{name}__value" for name in ("education", "occupation",
                                                "acquisition_channel", "city_tier")[:categorical]]
    generator = np.random.default_rng(seed)
    numeric = generator.normal(size=(rows, features - categorical))
    numeric[generator.random(numeric.shape) < 0.05] = np.nan
    frame = pd.DataFrame(numeric, columns=names[: features - categorical])
    levels = ["a", "b", "c", "d", "e"]
    for name in names[features - categorical:]:
        frame[name] = pd.Categorical(generator.choice(levels, rows), categories=levels)
    signal = np.nan_to_num(numeric[:, :10]) @ generator.normal(0.0, 0.5, 10)
    if categorical:
        signal = signal + 0.4 * (frame[names[-1]].to_numpy() == "a")
    is_bad = generator.random(rows) < 1 / (1 + np.exp(-(signal - 2.5)))
    return frame, is_bad


_CPU_SECONDS: dict[int, float] = {}


def timed(function, repeat: int) -> tuple[float, object]:
    """Fastest wall time of ``repeat`` runs and the last result; the CPU seconds of that run
    (all threads of the process) are kept in ``_CPU_SECONDS[id(result)]``."""
    best, result, cpu = np.inf, None, np.nan
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = function()
        elapsed = time.perf_counter() - started
        if elapsed < best:
            best, cpu = elapsed, time.process_time() - started_cpu
    _CPU_SECONDS[id(result)] = cpu
    return best, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--categorical", type=int, default=3, choices=range(5))
    parser.add_argument("--trees", type=int, default=600)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--walker-rows", type=int, default=10_000,
                        help="rows for shap's own walker (scaled to --rows)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output-json", type=Path)
    args = parser.parse_args(argv)

    inputs, is_bad = synthetic_rows(args.rows, args.features, args.categorical, args.seed)
    started = time.perf_counter()
    model = xgb.XGBClassifier(n_estimators=args.trees, max_depth=args.depth, learning_rate=0.05,
                              tree_method="hist", enable_categorical=True, n_jobs=2,
                              random_state=args.seed)
    model.fit(inputs, is_bad)
    booster = model.get_booster()
    print(f"model: {booster.num_boosted_rounds()} trees, depth {args.depth}, fitted in "
          f"{time.perf_counter() - started:.0f}s on {len(inputs):,} rows x {inputs.shape[1]} "
          f"features ({args.categorical} categorical)")
    margin = booster.predict(xgb.DMatrix(inputs, enable_categorical=True), output_margin=True,
                             iteration_range=tree_range(booster))

    results: dict[str, dict[str, float]] = {}
    reference_values_ = None
    for threads in (1, 2):
        seconds, contributions = timed(
            lambda threads=threads: xgboost_contributions(booster, inputs, n_threads=threads),
            args.repeat)
        if reference_values_ is None:
            reference_values_ = contributions
        results[f"pred_contribs, {threads} thread(s)"] = {
            "seconds": seconds, "cpu": _CPU_SECONDS[id(contributions)],
            "contributions": contributions}
    for threads in (1, 2):
        threaded = booster.copy()
        threaded.set_param({"nthread": threads})
        seconds, contributions = timed(lambda threaded=threaded: tree_shap_contributions(
            threaded, inputs), args.repeat)
        results[f"shap.TreeExplainer, {threads} thread(s)"] = {
            "seconds": seconds, "cpu": _CPU_SECONDS[id(contributions)],
            "contributions": contributions}
    seconds, _ = timed(lambda: shap.TreeExplainer(booster,
                                                  feature_perturbation="tree_path_dependent"),
                       args.repeat)
    parsing = seconds
    if args.categorical == 0:
        rows = min(args.walker_rows, len(inputs))
        seconds, contributions = timed(lambda: independent_tree_shap(booster, inputs.head(rows)),
                                       1)
        results[f"shap's own walker, 1 thread ({rows:,} rows, scaled)"] = {
            "seconds": seconds * len(inputs) / rows,
            "cpu": _CPU_SECONDS[id(contributions)] * len(inputs) / rows,
            "contributions": contributions}

    base = reference_values_
    header = (f"{'method':<48} {'seconds':>9} {'CPU s':>8} {'rows/s':>10} {'max |diff|':>11} "
              f"{'additivity':>11}")
    lines = [header]
    summary = {}
    for name, entry in results.items():
        contributions = entry["contributions"]
        shown = contributions.values
        diff = float(np.abs(shown.to_numpy() - base.values.loc[shown.index].to_numpy()).max())
        additivity = float(np.abs(contributions.margin().to_numpy()
                                  - margin[: len(shown)]).max())
        if "walker" in name:
            additivity = float("nan")       # its base value is fitted from the margin itself
        rate = len(inputs) / entry["seconds"]
        lines.append(f"{name:<48} {entry['seconds']:>9.2f} {entry['cpu']:>8.1f} {rate:>10,.0f} "
                     f"{diff:>11.2e} {additivity:>11.2e}")
        summary[name] = {"seconds": entry["seconds"], "cpu_seconds": entry["cpu"],
                         "rows_per_second": rate,
                         "max_abs_diff_vs_pred_contribs": diff, "max_additivity_error": additivity}

    lines.append(f"{'  of which shap parsing the model (TreeExplainer())':<48} {parsing:>9.2f}")
    summary["shap.TreeExplainer construction"] = {"seconds": parsing}
    dictionary = ReasonDictionary.default()
    reference = reference_values(inputs)
    seconds, long = timed(lambda: reason_codes(base, inputs, dictionary, top_k=4,
                                               reference=reference), args.repeat)
    lines.append(f"{'reason codes from the contributions (top 4)':<48} {seconds:>9.2f} "
                 f"{'':>8} {len(inputs) / seconds:>10,.0f}")
    summary["reason codes (top 4)"] = {"seconds": seconds, "rows_per_second": len(inputs) / seconds,
                                       "reasons": len(long)}
    print("\n".join(lines))
    if args.output_json:
        args.output_json.parent.mkdir(parents=True, exist_ok=True)
        args.output_json.write_text(json.dumps({
            "rows": len(inputs), "features": inputs.shape[1], "categorical": args.categorical,
            "trees": booster.num_boosted_rounds(), "depth": args.depth, "results": summary,
            "versions": {"xgboost": xgb.__version__, "shap": shap.__version__,
                         "python": platform.python_version()},
            "load_average": os.getloadavg(),
        }, indent=2))


if __name__ == "__main__":
    main()
