"""How a job's MLflow runs end: honestly, whatever stops the job.

A run is ended FINISHED only when everything it logs is there; a signal (SIGTERM from a scheduler,
Ctrl-C) becomes :class:`JobInterrupted`, so ``with mlflow.start_run()`` unwinds and the runs that
were open are then marked KILLED. A model is registered only after its run has ended FINISHED, so
no version ever points at a run that is still RUNNING or that failed after registration.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from credit_models.errors import JobInterrupted, RegistryError

if TYPE_CHECKING:
    from mlflow.models.model import ModelInfo

# MLflow is imported where a run is read or changed, not here: the runner wraps every job in
# ``interruptible`` and a job that stops at its config never loads MLflow.

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def open_run_ids() -> list[str]:
    """The runs this process has open, innermost last; read from MLflow's run stack (no store
    access, so it is safe inside a signal handler). A process that never loaded MLflow has none
    open."""
    if "mlflow" not in sys.modules:
        return []
    import mlflow
    from mlflow.tracking import fluent

    stack = getattr(fluent, "_active_run_stack", None)
    runs = stack.get() if stack is not None else None
    if runs is None:
        active = mlflow.active_run()
        runs = [active] if active is not None else []
    return [run.info.run_id for run in runs]


def _raise_interrupted(signal_number: int, frame: FrameType | None) -> None:
    # A second signal while the first unwinds ends the process the default way.
    for handled in HANDLED_SIGNALS:
        signal.signal(handled, signal.SIG_DFL)
    raise JobInterrupted(signal_number, open_run_ids())


@contextmanager
def interruptible() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into :class:`JobInterrupted` for the duration of a job."""
    previous = {handled: signal.getsignal(handled) for handled in HANDLED_SIGNALS}
    for handled in HANDLED_SIGNALS:
        signal.signal(handled, _raise_interrupted)
    try:
        yield
    finally:
        for handled, handler in previous.items():
            signal.signal(handled, handler)


def mark_killed(run_ids: list[str]) -> list[str]:
    """End the interrupted runs KILLED (``with mlflow.start_run()`` ended them FAILED, or they
    are still open); returns those changed."""
    if not run_ids:
        return []
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import RunStatus

    client = MlflowClient()
    killed = []
    for run_id in run_ids:
        if mlflow.active_run() is not None and mlflow.active_run().info.run_id == run_id:
            mlflow.end_run(RunStatus.to_string(RunStatus.KILLED))
        elif client.get_run(run_id).info.status != RunStatus.to_string(RunStatus.FINISHED):
            client.set_terminated(run_id, RunStatus.to_string(RunStatus.KILLED))
        else:
            continue
        killed.append(run_id)
    return killed


def register_finished_model(
    model_info: ModelInfo, name: str, *, tags: Mapping[str, str] | None = None,
    description: str | None = None,
) -> str:
    """Register a logged model once its run has ended FINISHED; returns the version.

    Called after the ``with mlflow.start_run()`` block: a failure or a kill before this point
    leaves no version, and a version never belongs to a run that is not FINISHED. ``tags`` are
    created with the version (one registry call: a version never lacks them); the Markdown
    ``description`` follows in a second call, so a kill in between leaves a complete, tagged
    version without its description."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import RunStatus

    client = MlflowClient()
    status = client.get_run(model_info.run_id).info.status
    if status != RunStatus.to_string(RunStatus.FINISHED):
        raise RegistryError(
            f"run {model_info.run_id} is {status}, not FINISHED: its model is not registered as "
            f"{name!r} (register only the model of a complete run)"
        )
    version = mlflow.register_model(model_info.model_uri, name, tags=dict(tags or {}))
    if description:
        client.update_model_version(name, version.version, description=description)
    return str(version.version)
