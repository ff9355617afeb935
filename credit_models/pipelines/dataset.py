"""Getting the configured data set onto disk and into memory, validated.

Shared by every job so that training, scoring and validation read data the same way.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from credit_models.data.io import DatasetManifest, read_manifest, read_tables, write_tables
from credit_models.data.simulator import SimulatorConfig, generate_to_folder
from credit_models.data.validation import ValidationReport, check_tables, validate_tables
from credit_models.errors import ConfigError
from credit_models.timestamps import utc_timestamp

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


def simulator_config(data: DictConfig) -> SimulatorConfig:
    return SimulatorConfig(**OmegaConf.to_container(data.simulator, resolve=True))


def materialise(data: DictConfig, show_progress: bool = True) -> Path:
    """Make sure the data set folder exists: generate or convert it when the config says so.

    A simulated data set is reused when its manifest records the same simulator config, so a
    second run of the main job does not generate again.
    """
    path = Path(data.path)
    source = str(data.source.value if hasattr(data.source, "value") else data.source)
    if source == "simulator":
        config = simulator_config(data)
        manifest = read_manifest(path)
        wanted = _plain(asdict(config))
        if manifest is not None and _plain(manifest.details.get("config")) == wanted:
            logger.info("reusing simulated data set at %s", path)
            return path
        logger.info("generating a simulated portfolio of %s customers into %s",
                    f"{config.n_customers:,}", path)
        return generate_to_folder(config, path, show_progress=show_progress)
    if source in ("uci_taiwan", "german_credit"):
        if not data.source_file:
            raise ConfigError(f"data.source_file must name the {source} CSV file; got nothing")
        from credit_models.data import adapters

        convert = {
            "uci_taiwan": adapters.convert_uci_taiwan,
            "german_credit": adapters.convert_german_credit,
        }[source]
        adapted = convert(Path(data.source_file))
        for line in adapted.report:
            logger.info("%s adapter: %s", source, line)
        write_tables(adapted.tables, path, adapted.manifest)
        return path
    if not path.is_dir():
        raise ConfigError(f"data.path {path} is not a folder of contract tables")
    return path


def load_dataset(data: DictConfig, strict: bool = True) -> LoadedDataset:
    """Read every table and validate it; with ``strict`` a violation raises, naming them all."""
    path = Path(data.path)
    tables = read_tables(path)
    manifest = read_manifest(path)
    if data.extraction_date:
        manifest = DatasetManifest(
            extraction_date=utc_timestamp(data.extraction_date).isoformat(),
            source=manifest.source if manifest else "parquet",
            details=manifest.details if manifest else {},
        )
    if manifest is None:
        raise ConfigError(
            f"{path} has no manifest.json: set data.extraction_date to the date the data were "
            "extracted (no event may be at or after it)"
        )
    validate = check_tables if strict else validate_tables
    report = validate(tables, manifest.extraction_timestamp)
    return LoadedDataset(path=path, tables=tables, manifest=manifest, report=report)


def _plain(value: Any) -> Any:
    """JSON-comparable form (tuples as lists) for comparing a stored config with a live one."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
