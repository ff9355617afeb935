"""MLflow plumbing shared by every job: where the store is, what a run records about itself."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SQLITE_PREFIX = "sqlite:///"


def resolve_tracking_uri(uri: str, base_dir: Path) -> str:
    """Make a relative SQLite store absolute, so that a job run from another directory, or the
    `mlflow ui` command printed at the end, finds the same store."""
    if uri.startswith(SQLITE_PREFIX) and not uri.startswith(SQLITE_PREFIX + "/"):
        return SQLITE_PREFIX + str((base_dir / uri.removeprefix(SQLITE_PREFIX)).resolve())
    return uri


def ui_command(tracking_uri: str) -> str:
    """The command that opens the MLflow UI on ``tracking_uri``, as it works when pasted: the
    ``mlflow`` beside the running Python (the virtual environment's, activated or not)."""
    installed = Path(sys.executable).parent / "mlflow"
    program = shlex.quote(str(installed)) if installed.is_file() else "mlflow"
    return f"{program} ui --backend-store-uri {shlex.quote(tracking_uri)}"


def open_experiment(tracking_uri: str, experiment_name: str) -> str:
    """Point MLflow at the configured store and experiment (a relative SQLite path from the
    working directory); returns the absolute store URI. MLflow is imported here, not with the
    module: the job runner reads this module before a config error may stop it."""
    import mlflow

    resolved = resolve_tracking_uri(tracking_uri, Path.cwd())
    mlflow.set_tracking_uri(resolved)
    use_experiment(experiment_name)
    return resolved


EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_EXPERIMENT_KIND = "custom_model_development"
"""MLflow 3's UI opens an experiment of this kind on its runs table, not on the GenAI traces
overview (where a model-training experiment shows "No data available")."""


def use_experiment(experiment_name: str) -> None:
    """Make ``experiment_name`` the active experiment (created if need be) and mark it as a
    model-development experiment, unless its kind was already set (by the user or MLflow)."""
    import mlflow

    experiment = mlflow.set_experiment(experiment_name)
    if EXPERIMENT_KIND_TAG not in experiment.tags:
        mlflow.MlflowClient().set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG,
                                                 MODEL_EXPERIMENT_KIND)


TELEMETRY_OFF_VARIABLE = "MLFLOW_DISABLE_TELEMETRY"


def set_telemetry(opted_in: bool) -> None:
    """MLflow 3 sends usage telemetry unless told not to; the jobs keep it off unless the user
    opts in (``mlflow.telemetry=true``: MLflow's own defaults and variables then apply). MLflow
    reads the switch when it is imported, so its client is built again here, before anything is
    tracked."""
    if opted_in:
        return
    from mlflow.telemetry import set_telemetry_client

    os.environ[TELEMETRY_OFF_VARIABLE] = "true"
    set_telemetry_client()


PARAM_NAME = re.compile(r"^[\w\-. :/]+$")
"""Characters MLflow accepts in a parameter name."""


def flatten_params(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config as dotted keys with string values: stable names for the compare view.

    A mapping whose keys are not valid parameter names (feature-name patterns such as
    ``delinquency__*``) is logged whole, as JSON, under its own dotted name."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and all(PARAM_NAME.match(str(k)) for k in value):
            flat.update(flatten_params(value, prefix=f"{name}."))
        elif isinstance(value, Mapping):
            flat[name] = json.dumps(value, sort_keys=True, default=str)[:6000]
        else:
            flat[name] = str(value)[:6000]
    return flat


def code_version(package_dir: Path) -> dict[str, str]:
    """Git commit and dirty flag of the checkout the code runs from ("unknown" when installed
    from a wheel)."""
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(
                ["git", "-C", str(package_dir), *args], capture_output=True, text=True,
                check=True, timeout=10,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": str(bool(dirty)).lower()}
