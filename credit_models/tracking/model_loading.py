"""The one way score, monitor, explain and compare get a PD model from the store, with errors
that say what exists when the URI is wrong.

Accepted URIs: ``models:/<name>@<alias>`` (``models:/pd_xgb@champion``), ``models:/<name>/<version>``
(``models:/pd_xgb/3``), ``models:/<name>/latest``, ``runs:/<run id>/<path>`` (``runs:/…/model``),
``models:/m-<id>`` (a logged model), a bare run id (its ``model``), and the registry references
the other jobs take (``pd_xgb@champion``, ``pd_xgb/3``, ``pd_xgb``). A local folder is refused
(:class:`~credit_models.errors.ConfigError`): a model is loaded only from the store, where a
training run logged it, never from files anyone could have placed on disk. Registered versions
are resolved by :func:`credit_models.tracking.registry.resolve`; an alias or ``latest`` becomes
its version number and that version is loaded, so everything a job records (the version, the
training run) describes the model that actually scored, even if the alias moves meanwhile.

:func:`load_pd_model` (a URI) and :func:`load_version` (a registered version) give a
:class:`LoadedModel`, the pyfunc with its signature; :func:`download_model` gives the logged files
for a reader that rebuilds the model (the explanations). Resolution and loading use the tracking
URI set with :func:`mlflow.set_tracking_uri` (the jobs set it from their config).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PyFuncModel

from credit_models.errors import ConfigError
from credit_models.tracking.mlflow_tracking import resolve_tracking_uri
from credit_models.tracking.pd_pyfunc import OUTPUT_COLUMNS
from credit_models.tracking.registry import ModelReference, RegistryError, resolve
from credit_models.tracking.registry import model_uri as registry_model_uri
from credit_models.workflows.scoring import ModelInputRefused

_REGISTERED = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<suffix>[^/]+))$")
_LOGGED_MODEL = re.compile(r"^models:/(?P<model_id>m-[0-9a-f]+)$")
_RUN = re.compile(r"^runs:/(?P<run_id>[^/]+)/(?P<path>.+)$")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
ACCEPTED_FORMS = (
    "models:/<name>@<alias>, models:/<name>/<version>, models:/<name>/latest, "
    "models:/m-<logged model id>, runs:/<run id>/model, a run id, <name>@<alias> or "
    "<name>/<version>"
)
_SHOWN = 20
"""How many names, versions or artifacts an error lists."""


class ModelLoadingError(RegistryError):
    """A model URI that names nothing in the store; the message lists what does exist."""


@dataclass(frozen=True)
class ResolvedModel:
    """What a model URI points at: ``load_uri`` pins the version (an alias is resolved)."""

    uri: str
    load_uri: str
    name: str | None = None
    version: str | None = None
    alias: str | None = None
    run_id: str | None = None

    @property
    def label(self) -> str:
        """``pd_xgb version 3`` or the URI when the model is not a registered version."""
        return f"{self.name} version {self.version}" if self.version else self.uri


def _listed(values: list[str]) -> str:
    shown = ", ".join(values[:_SHOWN]) if values else "none"
    return shown + (f", … ({len(values)} in all)" if len(values) > _SHOWN else "")


def _not_found(error: MlflowException) -> bool:
    return error.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")


def _registered_version(client: MlflowClient, uri: str, reference: ModelReference) -> ResolvedModel:
    try:
        version = resolve(client, reference)
    except RegistryError as error:
        hint = (f". Set it with MlflowClient().set_registered_model_alias({reference.name!r}, "
                f"{reference.alias!r}, <version>)"
                if reference.alias and "has no alias" in str(error) else "")
        raise ModelLoadingError(f"{uri}: {error}{hint}") from None
    return ResolvedModel(uri, registry_model_uri(version), name=version.name,
                         version=str(version.version), alias=reference.alias,
                         run_id=version.run_id)


def _run_model(client: MlflowClient, uri: str, run_id: str, path: str) -> ResolvedModel:
    try:
        run = client.get_run(run_id)
    except MlflowException as error:
        if not _not_found(error):
            raise
        raise ModelLoadingError(f"{uri}: no run {run_id!r} in {mlflow.get_tracking_uri()}") \
            from None
    # MLflow 3 logs a model as a LoggedModel of the run; older runs hold it as an artifact.
    logged = [model.name for model in client.search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'",
    )]
    artifacts = [item.path for item in client.list_artifacts(run_id)]
    if path not in logged and path.split("/")[0] not in artifacts:
        raise ModelLoadingError(
            f"{uri}: run {run_id} has no model {path!r}; its logged models: "
            f"{_listed(sorted(logged))}; its artifacts: {_listed(artifacts)}"
        )
    return ResolvedModel(uri, uri, run_id=run_id)


def resolve_model_uri(uri: str, client: MlflowClient | None = None) -> ResolvedModel:
    """Check that ``uri`` names a model in the store and pin it to a version.

    Besides MLflow URIs, a run id and a registry reference as the other jobs take it
    (``pd_xgb@champion``, ``pd_xgb/3``, ``pd_xgb``) are accepted. Raises
    :class:`ModelLoadingError` naming the missing registered model, alias, version or run and
    listing what exists (registered models, or the model's versions and aliases), and
    :class:`~credit_models.errors.ConfigError` for a local path or any other form, listing the
    accepted ones."""
    client = client or MlflowClient()
    if match := _LOGGED_MODEL.match(uri):
        try:
            logged = client.get_logged_model(match["model_id"])
        except MlflowException as error:
            if not _not_found(error):
                raise
            raise ModelLoadingError(f"{uri}: no logged model {match['model_id']!r}") from None
        return ResolvedModel(uri, uri, run_id=logged.source_run_id)
    if match := _REGISTERED.match(uri):
        name, alias, suffix = match["name"], match["alias"], match["suffix"]
        if alias is not None:
            return _registered_version(client, uri, ModelReference(name, alias=alias))
        if suffix.isdigit():
            return _registered_version(client, uri, ModelReference(name, version=suffix))
        if suffix.lower() == "latest":
            return _registered_version(client, uri, ModelReference(name))
        raise ModelLoadingError(
            f"{uri}: {suffix!r} is neither a version number nor 'latest' (stages are "
            f"deprecated: use an alias, models:/{name}@<alias>)"
        )
    if match := _RUN.match(uri):
        return _run_model(client, uri, match["run_id"], match["path"].strip("/"))
    if _RUN_ID.match(uri):
        return _run_model(client, f"runs:/{uri}/model", uri, "model")
    if "://" not in uri and not uri.startswith(("models:", "runs:")):
        if Path(uri).expanduser().exists():
            raise ConfigError(
                f"model_uri {uri!r} is a local path: models are loaded only from the registry or "
                f"a run, never from a folder (its files could be anyone's). Accepted: "
                f"{ACCEPTED_FORMS}"
            )
        try:
            reference = ModelReference.parse(uri)
        except RegistryError:
            pass
        else:
            return _registered_version(client, uri, reference)
    raise ConfigError(f"model_uri {uri!r} is not a model this toolkit reads; accepted: "
                      f"{ACCEPTED_FORMS}")


@dataclass(frozen=True)
class LoadedModel:
    """A PD model from the store, pinned to what its URI resolved to: the one object score,
    monitor and compare hand to the workflows (:class:`~credit_models.workflows.scoring.ScoringModel`).
    ``predict`` turns MLflow's refusal of an input into
    :class:`~credit_models.workflows.scoring.ModelInputRefused`."""

    pyfunc: PyFuncModel
    resolved: ResolvedModel
    input_types: Mapping[str, str] | None
    """Column → MLflow type name (``double``, ``string`` …) in signature order; None when the
    model has no signature naming its columns."""
    output_columns: tuple[str, ...] = OUTPUT_COLUMNS

    @property
    def uri(self) -> str:
        return self.resolved.uri

    @property
    def version(self) -> str | None:
        return self.resolved.version

    @property
    def features(self) -> list[str]:
        """The input columns of the signature (empty when it has none)."""
        return [] if self.input_types is None else list(self.input_types)

    def predict(self, inputs: pd.DataFrame) -> pd.DataFrame:
        try:
            return self.pyfunc.predict(inputs)
        except MlflowException as error:
            if error.error_code != "INVALID_PARAMETER_VALUE":
                raise
            raise ModelInputRefused(error.message) from None


def _input_types(model: PyFuncModel) -> dict[str, str] | None:
    schema = model.metadata.get_input_schema()
    if schema is None or not schema.has_input_names():
        return None
    return {spec.name: str(getattr(spec.type, "name", spec.type)) for spec in schema.inputs}


def connect(tracking_uri: str) -> MlflowClient:
    """Point MLflow at the store (a relative sqlite path from the working directory; the
    registry and ``models:/`` URIs follow it) and return a client of it."""
    uri = resolve_tracking_uri(tracking_uri, Path.cwd())
    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def load_resolved(resolved: ResolvedModel, *, require_signature: bool = True) -> LoadedModel:
    """The pyfunc of an already resolved URI; a model without a signature is refused unless the
    caller can feed it whole frames (``require_signature=False``)."""
    pyfunc = mlflow.pyfunc.load_model(resolved.load_uri)
    types = _input_types(pyfunc)
    if types is None and require_signature:
        raise ModelLoadingError(
            f"{resolved.label}: the model has no input signature naming its columns; log it "
            "with signature=… (credit_models.tracking.pd_run does)"
        )
    return LoadedModel(pyfunc, resolved, types)


def load_pd_model(uri: str, client: MlflowClient | None = None) -> LoadedModel:
    """The pyfunc behind ``uri``, loaded from its pinned version."""
    return load_resolved(resolve_model_uri(uri, client))


def load_version(version: ModelVersion) -> LoadedModel:
    """A registered version's pyfunc (the comparison's contenders; a signature is optional)."""
    resolved = ResolvedModel(registry_model_uri(version), registry_model_uri(version),
                             name=version.name, version=str(version.version),
                             run_id=version.run_id)
    return load_resolved(resolved, require_signature=False)


def download_model(uri: str, destination: Path) -> tuple[Path, ResolvedModel]:
    """The model's files (as logged) under ``destination``, for readers that rebuild the model
    themselves (the explanations), and what ``uri`` resolved to, its training run included."""
    try:
        resolved = resolve_model_uri(uri)
        folder = mlflow.artifacts.download_artifacts(artifact_uri=resolved.load_uri,
                                                     dst_path=str(destination))
        if resolved.run_id is None:
            resolved = replace(resolved,
                               run_id=mlflow.models.get_model_info(resolved.load_uri).run_id)
    except (ModelLoadingError, MlflowException) as error:
        raise ModelLoadingError(
            f"cannot load model {uri} from {mlflow.get_tracking_uri()}: "
            f"{getattr(error, 'message', error)}"
        ) from error
    return Path(folder), resolved
