"""The explained model and what its training run holds, from the store: the model's files
rebuilt (:func:`credit_models.tracking.model_loading.download_model`), what the run logged of its
feature matrix and its feature spec, each fetched only when the explanation asks for it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from credit_models.explain.exported_model import ExportedModel, load_model_folder
from credit_models.tracking.model_loading import ModelLoadingError, download_model
from credit_models.tracking.training_rows import (
    LoggedTrainingRows,
    TrainingRowsError,
    logged_training_rows,
)
from credit_models.workflows.explanation import ExplainInputError

FEATURE_SPEC_ARTIFACT = "features/feature_spec.json"


@dataclass(frozen=True)
class ExplainedModel:
    """The model rebuilt from its logged files, the URI as given, and its training run."""

    exported: ExportedModel
    uri: str
    run_id: str | None


def load_explained_model(model_uri: str, scratch: Path) -> ExplainedModel:
    """Download the model's files from the registry or its run and rebuild it; a URI naming
    nothing is an :class:`ExplainInputError`, a local folder a ConfigError (models come only from
    the store)."""
    try:
        folder, resolved = download_model(model_uri.strip(), scratch / "model")
    except ModelLoadingError as error:
        raise ExplainInputError(str(error)) from error
    return ExplainedModel(load_model_folder(folder), resolved.uri, resolved.run_id)


@dataclass(frozen=True)
class RunSources:
    """:class:`~credit_models.workflows.explanation.ExplainSources` of a training run."""

    run_id: str | None
    scratch: Path

    def training_rows(self) -> LoggedTrainingRows:
        """What the run logged of its feature matrix: the matrix, else its matrix reference."""
        if self.run_id is None:
            raise ExplainInputError("the model has no training run to read rows from: give "
                                    "feature_matrix=<Parquet file> or source=data")
        try:
            return logged_training_rows(MlflowClient(), self.run_id, self.scratch)
        except TrainingRowsError as error:
            raise ExplainInputError(str(error)) from error

    def feature_spec(self) -> dict[str, Any] | None:
        """The feature spec the run logged; None when it has none."""
        if self.run_id is None:
            return None
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=self.run_id, artifact_path=FEATURE_SPEC_ARTIFACT,
                dst_path=str(self.scratch / "run"))
        except (MlflowException, OSError):
            return None
        return json.loads(Path(path).read_text())
