"""Getting the configured data set onto disk and into memory, validated.

Shared by every job so that training, scoring and validation read data the same way.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from credit_models.data.contract import OUTCOMES_TABLE
from credit_models.data.io import (
    MANIFEST_NAME,
    MINIMAL_MANIFEST_EXAMPLE,
    DatasetManifest,
    dataset_folder_check,
    legacy_tables_layout,
    read_manifest,
    read_tables,
    write_tables,
)
from credit_models.data.simulator import generate_to_folder
from credit_models.data.simulator.generate import SOURCE as SIMULATOR_SOURCE
from credit_models.data.validation import ValidationReport, check_tables, validate_tables
from credit_models.errors import ConfigError, DatasetReadError
from credit_models.timestamps import utc_timestamp
from credit_models.workflows.settings import DataSettings, DataSource

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedDataset:
    path: Path
    tables: dict[str, pd.DataFrame]
    manifest: DatasetManifest
    report: ValidationReport

    @property
    def extraction_date(self) -> pd.Timestamp:
        return self.manifest.extraction_timestamp


def materialise(data: DataSettings, show_progress: bool = True) -> Path:
    """Make sure the data set folder exists: generate or convert it when the config says so.

    A simulated data set is reused when its manifest records the same simulator config, so a
    second run of the main job does not generate again. A folder is generated or converted into
    only when it is absent, empty or a data set the toolkit wrote; any other folder stops the job
    with :class:`OutputFolderError` before any work, and is left as it was.
    """
    path = configured_path(data)
    source = DataSource(data.source).value
    if source == "simulator":
        config = data.simulator
        if _holds_simulated(path, _plain(asdict(config))):
            logger.info("reusing simulated data set at %s", path)
            return path
        logger.info("generating a simulated portfolio of %s customers into %s",
                    f"{config.n_customers:,}", path)
        return generate_to_folder(config, path, show_progress=show_progress)
    if source in ("uci_taiwan", "german_credit"):
        if not data.source_file:
            raise ConfigError(f"data.source_file must name the {source} CSV file; got nothing")
        from credit_models.data import adapters

        dataset_folder_check(path, legacy_tables_layout(source))
        convert = {
            "uci_taiwan": adapters.convert_uci_taiwan,
            "german_credit": adapters.convert_german_credit,
        }[source]
        adapted = convert(Path(data.source_file))
        for line in adapted.report:
            logger.info("%s adapter: %s", source, line)
        write_tables(adapted.tables, path, adapted.manifest)
        return path
    _check_readable_folder(path)
    return path


def load_dataset(data: DataSettings, strict: bool = True) -> LoadedDataset:
    """Read every table and validate it; with ``strict`` a violation raises, naming them all."""
    path = configured_path(data)
    _check_readable_folder(path)
    tables = read_tables(path)
    manifest = read_manifest(path)
    if data.extraction_date:
        manifest = DatasetManifest(
            extraction_date=utc_timestamp(data.extraction_date).isoformat(),
            source=manifest.source if manifest else "parquet",
            details=manifest.details if manifest else {},
        )
    if manifest is None:
        raise ConfigError(_missing_manifest_message(path, tables))
    validate = check_tables if strict else validate_tables
    report = validate(tables, manifest.extraction_timestamp, data.plausibility)
    return LoadedDataset(path=path, tables=tables, manifest=manifest, report=report)


def _missing_manifest_message(path: Path, tables: dict[str, pd.DataFrame]) -> str:
    """What to write when a data set has no manifest. The extraction date stays required, even
    for application data: it is a fact of the extract that validation checks the data against
    (nothing dated at or after it), so deriving it from the data would check nothing."""
    message = (
        f"{path} has no {MANIFEST_NAME}, which gives the data set's extraction date (no event "
        f"may be dated at or after it). Write {path / MANIFEST_NAME} holding "
        f"{MINIMAL_MANIFEST_EXAMPLE} with the instant your data were extracted ('details' is "
        "optional), or pass data.extraction_date=2025-07-01T00:00:00+00:00"
    )
    outcomes, customers = tables.get(OUTCOMES_TABLE), tables.get("customers")
    if outcomes is not None and len(outcomes):
        message += (f". For application data (outcomes in {OUTCOMES_TABLE}, no events) any "
                    "instant after every customers.signed_up_at will do")
        latest = outcomes["as_of"].max() if "as_of" in outcomes.columns else None
        signed_up = (customers["signed_up_at"].max()
                     if customers is not None and "signed_up_at" in customers.columns else None)
        try:
            fits = latest is not None and signed_up is not None and signed_up < latest
        except TypeError:       # wrong dtypes: validation will name them
            fits = False
        if fits:
            message += f", such as the latest {OUTCOMES_TABLE}.as_of ({latest.isoformat()})"
    return message


def configured_path(data: DataSettings) -> Path:
    """``data.path``, which must be set."""
    if not data.path:
        raise ConfigError(
            "data.path is not set: name the data set folder, e.g. `data=parquet "
            "data.path=/path/to/my_portfolio` (a folder holding manifest.json and one Parquet file "
            "or part folder per table, see data/README.md)"
        )
    return Path(data.path)


def _check_readable_folder(path: Path) -> None:
    if path.is_dir():
        return
    if path.exists():
        hint = (
            f" To read one table file, put it in a folder as {path.name} beside the other tables "
            "and manifest.json, and name that folder."
            if path.suffix == ".parquet" else ""
        )
        raise ConfigError(
            f"data.path {path} is a file, not a folder: a data set is a folder holding "
            f"manifest.json and one Parquet file or part folder per table (data/README.md).{hint}"
        )
    raise ConfigError(
        f"data.path {path} does not exist: set data.path to the folder of your data set (with "
        "`data=parquet`), or leave data at its default to generate a simulated portfolio"
    )


def _holds_simulated(path: Path, config: dict[str, Any]) -> bool:
    """Whether ``path`` holds a simulated data set of exactly this simulator config."""
    try:
        manifest = read_manifest(path) if path.is_dir() else None
    except DatasetReadError:
        return False
    return (
        manifest is not None and manifest.source == SIMULATOR_SOURCE
        and _plain(manifest.details.get("config")) == config
    )


def _plain(value: Any) -> Any:
    """JSON-comparable form (tuples as lists) for comparing a stored config with a live one."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
