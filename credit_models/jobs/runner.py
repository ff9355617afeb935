"""The one entry point every ``credit-models-*`` console script goes through.

It composes the job's config (Hydra), builds the job's settings from it (every config error
answers here, before MLflow or the training stack is loaded and before any store is made), keeps
MLflow telemetry off unless the user opts in, makes the MLflow store ready before any data are
read, turns SIGTERM/SIGINT into an orderly stop (open runs end KILLED), and turns the toolkit's
own errors into one message and an exit code:

- 2: usage or configuration (a bad override, a missing mandatory value, a wrong setting, a model
  reference that does not resolve, a store that cannot be used);
- 1: the data (a broken contract, training data that cannot support a model, an unreadable file);
- 128 + the signal's number when interrupted.

The traceback is printed too with ``HYDRA_FULL_ERROR=1`` or ``CREDIT_MODELS_VERBOSE=1``; any other
error is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException
from pyarrow import ArrowInvalid

from credit_models.config.schema import register_configs
from credit_models.config.settings import to_settings
from credit_models.data.adapters.common import SourceDataError
from credit_models.errors import (
    ConfigError,
    DataContractError,
    DatasetReadError,
    JobInterrupted,
    RegistryError,
    TrackingStoreError,
    TrainingDataError,
)
from credit_models.paths import config_dir
from credit_models.tracking.mlflow_tracking import resolve_tracking_uri, set_telemetry
from credit_models.tracking.run_lifecycle import interruptible, mark_killed
from credit_models.tracking.store import prepare_store

logger = logging.getLogger(__name__)

USAGE_EXIT_CODE = 2
DATA_EXIT_CODE = 1
VERBOSE_VARIABLES = ("CREDIT_MODELS_VERBOSE", "HYDRA_FULL_ERROR")

USAGE_ERRORS: tuple[type[BaseException], ...] = (
    ConfigError, RegistryError, TrackingStoreError, OmegaConfBaseException, HydraException,
)
"""Nothing could run as asked: fix the command line, the config or the model reference."""
DATA_ERRORS: tuple[type[BaseException], ...] = (
    DataContractError, DatasetReadError, TrainingDataError, SourceDataError, FileNotFoundError,
    ArrowInvalid,
)
"""The data cannot be used as they are: fix or replace them."""

Job = Callable[[Any, DictConfig], Any]
"""A job: ``job(settings, cfg)``, the settings built (and so checked) from ``cfg`` by the runner;
``cfg`` is what a run logs as its config."""


def task_overrides() -> list[str]:
    """The command line's overrides of the running Hydra job (none outside one): what a run
    is named after."""
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def verbose() -> bool:
    return any(os.environ.get(name, "") not in ("", "0", "false") for name in VERBOSE_VARIABLES)


def describe(error: BaseException) -> str:
    """The error as one message: what, where and how to fix it."""
    if isinstance(error, MissingMandatoryValue):
        key = error.full_key or "a key"
        return (f"{key} is required and has no value: give it on the command line "
                f"({key}=…)")
    if isinstance(error, OmegaConfBaseException) and error.full_key:
        message = str(error).split("\n")[0]
        return f"config key {error.full_key}: {message}"
    if isinstance(error, FileNotFoundError) and error.filename:
        return f"file not found: {error.filename} ({error.strerror or error})"
    return str(error)


def check_mandatory(cfg: DictConfig) -> None:
    """Every top-level ``???`` value must be given before anything starts (nested ones, such as
    ``data.path``, are checked by the stage that reads them, with its own advice)."""
    missing = sorted(key for key in OmegaConf.missing_keys(cfg) if "." not in key)
    if missing:
        given = " ".join(f"{key}=…" for key in missing)
        raise ConfigError(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required "
                          f"and not set: give {'it' if len(missing) == 1 else 'them'} on the "
                          f"command line ({given})")


def tracking_uri_of(cfg: DictConfig) -> str | None:
    """The job's MLflow store: ``mlflow.tracking_uri`` (or ``tracking_uri``), if it has one."""
    uri = OmegaConf.select(cfg, "mlflow.tracking_uri", default=None)
    if uri is None:
        uri = OmegaConf.select(cfg, "tracking_uri", default=None)
    return None if uri is None else str(uri)


def prepare_tracking(cfg: DictConfig) -> None:
    """Telemetry off unless opted in, and the store ready (created, checked, migrated) before
    the job reads any data."""
    set_telemetry(bool(OmegaConf.select(cfg, "mlflow.telemetry", default=False)))
    uri = tracking_uri_of(cfg)
    if uri:
        prepare_store(resolve_tracking_uri(uri, Path.cwd()))


def run_job(
    program: str,
    job: Job,
    cfg: DictConfig,
    *,
    usage_errors: tuple[type[BaseException], ...] = (),
    data_errors: tuple[type[BaseException], ...] = (),
) -> tuple[int, Any]:
    """Run ``job(settings, cfg)`` as a console script would; returns (exit code, the job's value).

    The config becomes the job's settings before the MLflow store is touched: a config error
    answers in a second, and leaves no store behind. Errors the user can fix are printed as one
    line on stderr, prefixed with the program's name; an interrupted job marks its open runs
    KILLED."""
    try:
        with interruptible():
            check_mandatory(cfg)
            settings = to_settings(cfg)
            prepare_tracking(cfg)
            return 0, job(settings, cfg)
    except JobInterrupted as interrupted:
        killed = mark_killed(interrupted.open_runs)
        print(f"{program}: {interrupted}" + (f"; MLflow run(s) {', '.join(killed)} ended KILLED"
                                             if killed else ""), file=sys.stderr)
        return interrupted.exit_code, None
    except (*USAGE_ERRORS, *usage_errors) as error:
        return _report(program, error, USAGE_EXIT_CODE), None
    except (*DATA_ERRORS, *data_errors) as error:
        return _report(program, error, DATA_EXIT_CODE), None


def _report(program: str, error: BaseException, code: int) -> int:
    if verbose():
        traceback.print_exception(error, file=sys.stderr)
    print(f"{program}: error: {describe(error)}", file=sys.stderr)
    return code


def job_entry(
    config_name: str,
    *,
    program: str | None = None,
    usage_errors: tuple[type[BaseException], ...] = (),
    data_errors: tuple[type[BaseException], ...] = (),
) -> Callable[[Job], Callable[[], Any]]:
    """Decorate a job function ``(settings, cfg) -> value`` into its console-script ``main()``.

    The value is what Hydra's sweepers read (a metric); a job ends with another exit code by
    ``sys.exit(code)``. Hydra's own config errors (a bad override, a missing config group) exit
    2 instead of 1."""
    name = program or f"credit-models-{config_name}"

    def decorate(job: Job) -> Callable[[], Any]:
        started = False

        @functools.wraps(job)       # Hydra names the job (its log file) after the job's module
        def task(cfg: DictConfig) -> Any:
            nonlocal started
            started = True
            code, value = run_job(name, job, cfg, usage_errors=usage_errors,
                                  data_errors=data_errors)
            if code:
                sys.exit(code)
            return value

        hydra_task = hydra.main(config_path=str(config_dir()), config_name=config_name,
                                version_base="1.3")(task)

        def main() -> Any:
            register_configs()      # once, here: importing a job registers nothing
            try:
                return hydra_task()
            except SystemExit as exit_:
                if not started and exit_.code == 1:    # Hydra printed its config error
                    raise SystemExit(USAGE_EXIT_CODE) from None
                raise
            except Exception as error:   # a config error re-raised by HYDRA_FULL_ERROR=1
                if started:
                    raise
                traceback.print_exception(error, file=sys.stderr)
                raise SystemExit(USAGE_EXIT_CODE) from None

        main.job = job      # the undecorated job, for tests and notebooks
        main.run = functools.partial(run_job, name, job, usage_errors=usage_errors,
                                     data_errors=data_errors)
        """``main.run(cfg)``: the job on a composed config, as the console script runs it."""
        return main

    return decorate
