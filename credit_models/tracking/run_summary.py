"""How a run presents itself in the MLflow UI: a name that says what was trained on what, a
description with the headline metrics, and the metrics a reviewer compares first. A runs table
of "selective-hen-433" rows and 54 alphabetical metrics tells a reviewer nothing; these do."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from credit_models.split.names import SPLIT_ORDER

HEADLINE_METRICS = ("auc", "ks", "ece", "psi_score")
"""The test split's metrics a reviewer compares first (AUC, KS, calibration error, score
stability against development)."""
IN_SAMPLE_METRICS = ("ece", "brier", "log_loss", "mean_probability")
"""Calibration-quality metrics that are meaningless on the rows the calibrator was fitted on
(an isotonic map is perfectly calibrated on its own rows: ECE 1e-18)."""
NAME_SEPARATOR = " · "
MAX_NAME_LENGTH = 250
"""MLflow's limit on a run name."""

HIDDEN_OVERRIDE_PREFIXES = ("mlflow.", "hydra.", "engine.", "data.source_file=", "data.path=")
"""Overrides that do not change what a run is (where it is logged, how the work is done, where
the data file lies) and so are left out of its name."""
NAME_GROUPS = ("model", "labels", "data")
"""Config groups already in the name's first parts: a bare ``model=scorecard`` adds nothing."""


def key_overrides(overrides: Iterable[str]) -> list[str]:
    """The command-line overrides that change what a run is, shortened for a run name: the
    config path's last two parts (``model.params.max_depth=6`` → ``params.max_depth=6``)."""
    kept = []
    for override in overrides:
        text = override.lstrip("+~")
        if text.startswith(HIDDEN_OVERRIDE_PREFIXES) or text.split("=", 1)[0] in NAME_GROUPS:
            continue
        key, _, value = text.partition("=")
        short_key = ".".join(key.split(".")[-2:])
        kept.append(f"{short_key}={_short_value(value)}" if value else short_key)
    return kept


def _short_value(value: str) -> str:
    """A path keeps its last part; anything else its first 30 characters."""
    if "/" in value:
        value = value.rstrip("/").rsplit("/", 1)[-1]
    return value if len(value) <= 30 else value[:29] + "…"


def run_name(parts: Sequence[str], overrides: Iterable[str] = ()) -> str:
    """``parts`` (e.g. model name, label, data source) then the key overrides, joined by
    :data:`NAME_SEPARATOR` and cut to MLflow's limit."""
    name = NAME_SEPARATOR.join([part for part in parts if part] + key_overrides(overrides))
    return name if len(name) <= MAX_NAME_LENGTH else name[:MAX_NAME_LENGTH - 1] + "…"


def headline_metrics(metrics: Mapping[str, float], test_split: str) -> dict[str, float]:
    """The test split's headline metrics, then the oracle's and cross-validation's where they
    exist, in the order a reviewer reads them."""
    names = [f"{test_split}/{name}" for name in HEADLINE_METRICS]
    names += [f"{test_split}/oracle_auc", "cv/auc_mean"]
    return {name: float(metrics[name]) for name in names if name in metrics}


def in_sample_metric_names(metrics: Iterable[str], fitted_splits: Iterable[str]) -> list[str]:
    """The calibration-quality metrics of the splits the calibrator was fitted on."""
    prefixes = tuple(f"{split}/" for split in fitted_splits)
    return sorted(name for name in metrics
                  if name.startswith(prefixes) and name.split("/", 1)[1] in IN_SAMPLE_METRICS)


SHOUTED_PREFIXES = (*SPLIT_ORDER, "cv")
"""Metric prefixes (splits, cross-validation) written in capitals in a label."""
METRIC_LABELS = {
    "auc": "AUC", "ks": "KS", "ece": "ECE", "psi_score": "PSI of the score",
    "oracle_auc": "oracle AUC (true PD)", "auc_mean": "mean AUC",
}


def metric_label(name: str) -> str:
    """``oot/psi_score`` → ``OOT PSI of the score``; ``cv/auc_mean`` → ``CV mean AUC``;
    ``backtest/policy/expected_loss`` → ``backtest · policy · expected loss``."""
    first, _, rest = name.partition("/")
    if first in SHOUTED_PREFIXES and "/" not in rest:
        return f"{first.upper()} {METRIC_LABELS.get(rest, rest.replace('_', ' '))}"
    return " · ".join(METRIC_LABELS.get(part, part.replace("_", " "))
                      for part in name.split("/"))


def markdown_table(rows: Mapping[str, float], digits: int = 4) -> str:
    """A two-column Markdown table (MLflow renders run and version descriptions as Markdown)."""
    lines = ["| metric | value |", "| --- | ---: |"]
    lines += [f"| {metric_label(name)} | {value:.{digits}f} |" for name, value in rows.items()]
    return "\n".join(lines)


def description(title: str, facts: Sequence[str], headline: Mapping[str, float]) -> str:
    """A run or version description: a bold title, the headline table, then one line of facts
    (the run page shows a description's first lines until "Show more" is clicked: the numbers
    come first)."""
    text = f"**{_markdown_escape(title)}**"
    if headline:
        text += "\n\n" + markdown_table(headline)
    if facts:
        text += "\n\n" + "; ".join(facts) + "."
    return text


def _markdown_escape(text: str) -> str:
    return re.sub(r"([*_`\[\]])", r"\\\1", text)


PROCESS_GROUPS = ("mlflow", "engine", "tuning", "report", "hydra")
"""Config groups that change where or how a run is done, never what model it gives."""


def config_digest(resolved: Mapping[str, Any]) -> str:
    """SHA-256 (16 hex characters) of the resolved config without :data:`PROCESS_GROUPS`: two
    runs with the same digest on the same data fingerprint trained the same model."""
    content = {key: value for key, value in resolved.items() if key not in PROCESS_GROUPS}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()
                          ).hexdigest()[:16]


def without_keys(resolved: Mapping[str, Any], group: str, keys: Iterable[str]) -> dict[str, Any]:
    """``resolved`` with ``keys`` taken out of its ``group`` (a model family's unused settings
    are not logged as parameters of its runs)."""
    dropped = set(keys)
    if group not in resolved or not dropped:
        return dict(resolved)
    return {**resolved, group: {key: value for key, value in resolved[group].items()
                                if key not in dropped}}
