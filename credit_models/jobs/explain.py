"""`credit-models-explain`: a registered PD model's PD and top reasons for customers at a snapshot.

model URI → the exported model's files (booster or scorecard, calibration, feature contract) →
the customers' feature rows at ``as_of`` (from a feature matrix, by default the one the model's
training run logged, or built from event data) → contributions → reason codes → console and, for a
batch, a Parquet or CSV file. The job only wires; the stages live in ``credit_models/explain``.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from omegaconf import DictConfig, OmegaConf

from credit_models.config.schema import register_configs
from credit_models.errors import ConfigError
from credit_models.explain.exported_model import ExportedModel, load_model_folder
from credit_models.explain.local_explanations import RowExplanations, explain_rows
from credit_models.explain.reason_codes import Language, ReasonDictionary, reference_values
from credit_models.features.sensitive import SensitiveAttributes
from credit_models.jobs.runner import job_entry
from credit_models.timestamps import utc_timestamp
from credit_models.tracking.mlflow_tracking import resolve_tracking_uri
from credit_models.tracking.model_loading import ModelLoadingError, resolve_model_uri
from credit_models.tracking.training_rows import TrainingRowsError, training_rows_file

logger = logging.getLogger("credit_models.explain")

FEATURE_SPEC_ARTIFACT = "features/feature_spec.json"
ID_COLUMNS = ("customer_id", "as_of")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_SHOWN = 20


class ExplainInputError(ValueError):
    """The request names a model, customer, date or file that does not exist; the message names
    it and what does exist."""


@dataclass(frozen=True)
class LoadedModel:
    exported: ExportedModel
    uri: str
    run_id: str | None


@dataclass(frozen=True)
class ExplainResult:
    explanations: RowExplanations
    model: LoadedModel
    as_of: pd.Timestamp
    output: Path | None


def model_uri_of(value: str) -> str:
    """A bare run id means the model its run logged (``runs:/<id>/model``)."""
    value = str(value).strip()
    return f"runs:/{value}/model" if _RUN_ID.match(value) else value


def _listed(values: list[Any]) -> str:
    shown = ", ".join(str(value) for value in values[:_SHOWN])
    return shown + (f", … ({len(values)} in all)" if len(values) > _SHOWN else "")


def load_model(model_uri: str, scratch: Path) -> LoadedModel:
    """Download the model's files from the registry or its run and rebuild it; the run that
    logged it is looked up too. A local folder is a ConfigError (models come only from the store:
    :func:`~credit_models.tracking.model_loading.resolve_model_uri`)."""
    uri = model_uri_of(model_uri)
    try:
        resolved = resolve_model_uri(uri)
        folder = mlflow.artifacts.download_artifacts(artifact_uri=resolved.load_uri,
                                                     dst_path=str(scratch / "model"))
        run_id = resolved.run_id or mlflow.models.get_model_info(resolved.load_uri).run_id
    except (ModelLoadingError, MlflowException) as error:
        raise ExplainInputError(
            f"cannot load model {uri} from {mlflow.get_tracking_uri()}: "
            f"{getattr(error, 'message', error)}"
        ) from error
    return LoadedModel(load_model_folder(folder), uri, run_id)


def run_artifact(run_id: str | None, path: str, scratch: Path) -> Path | None:
    """A file the training run logged, downloaded; None when the run has none."""
    if run_id is None:
        return None
    try:
        return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path,
                                                        dst_path=str(scratch / "run")))
    except (MlflowException, OSError):
        return None


def training_rows(run_id: str | None, scratch: Path) -> Path:
    """The feature matrix of the model's training run: the one it logged, else the one rebuilt
    from its matrix reference and checked against its fingerprint."""
    if run_id is None:
        raise ExplainInputError("the model has no training run to read rows from: give "
                                "feature_matrix=<Parquet file> or source=data")
    try:
        return training_rows_file(MlflowClient(), run_id, scratch)
    except TrainingRowsError as error:
        raise ExplainInputError(str(error)) from error


def _as_of_filter(path: Path, as_of: pd.Timestamp) -> tuple[ds.Dataset, Any]:
    dataset = ds.dataset(str(path), format="parquet")
    names = dataset.schema.names
    missing = [name for name in ID_COLUMNS if name not in names]
    if missing:
        raise ExplainInputError(f"{path} lacks the id column(s) {missing}: a feature matrix has "
                                f"customer_id, as_of and the features")
    kind = dataset.schema.field("as_of").type
    moment = as_of if getattr(kind, "tz", None) else as_of.tz_convert(None)   # naive stored: UTC
    return dataset, ds.field("as_of") == pa.scalar(moment.to_pydatetime(), type=kind)


def matrix_rows(path: Path, as_of: pd.Timestamp, customer_ids: list[Any] | None,
                features: list[str]) -> pd.DataFrame:
    """The rows of a feature matrix at ``as_of`` (of ``customer_ids``, or all), indexed by
    (customer_id, as_of); unknown dates and customers are errors naming them."""
    dataset, at_as_of = _as_of_filter(path, as_of)
    absent = [name for name in features if name not in dataset.schema.names]
    if absent:
        raise ExplainInputError(f"{path} lacks {len(absent)} model feature(s): {_listed(absent)}")
    rows = dataset.to_table(filter=at_as_of, columns=[*ID_COLUMNS, *features]).to_pandas()
    if rows.empty:
        dates = pd.Series(dataset.to_table(columns=["as_of"]).column("as_of").to_pandas())
        known = sorted(dates.dropna().unique())
        raise ExplainInputError(
            f"as_of {as_of.date()} is not a snapshot of {path}: it has {len(known)} snapshot "
            f"date(s)" + (f", {pd.Timestamp(known[0]).date()} to {pd.Timestamp(known[-1]).date()}: "
                          f"{_listed([pd.Timestamp(d).date() for d in known])}" if known else "")
        )
    if customer_ids is not None:
        wanted = _typed_ids(customer_ids, rows["customer_id"])
        present = set(rows["customer_id"].tolist())
        unknown = [value for value in wanted if value not in present]
        if unknown:
            raise ExplainInputError(
                f"customer(s) {_listed(unknown)} have no row at as_of {as_of.date()} in {path} "
                f"({len(present):,} customers do, e.g. {_listed(sorted(present)[:5])})"
            )
        order = {value: position for position, value in enumerate(wanted)}
        rows = rows[rows["customer_id"].isin(order)]
        rows = rows.iloc[np.argsort(rows["customer_id"].map(order).to_numpy(), kind="stable")]
    return rows.set_index(list(ID_COLUMNS))


def _typed_ids(values: list[Any], column: pd.Series) -> list[Any]:
    """The requested ids in the type of the data's customer_id (17 and "17" are one customer)."""
    if pd.api.types.is_integer_dtype(column.dtype):
        typed = []
        for value in values:
            try:
                typed.append(int(value))
            except (TypeError, ValueError):
                raise ExplainInputError(f"customer id {value!r} is not an integer, as the data's "
                                        f"customer_id is") from None
        return list(dict.fromkeys(typed))
    return list(dict.fromkeys(str(value) for value in values))


def built_rows(cfg: DictConfig, run_id: str | None, scratch: Path, as_of: pd.Timestamp,
               customer_ids: list[Any] | None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Features built from the configured event data at ``as_of``, indexed by (customer_id,
    as_of), and their descriptions."""
    from credit_models.features.engine import build_features
    from credit_models.features.spec import parse_feature_spec
    from credit_models.workflows.dataset import load_dataset, materialise

    raw_spec: dict[str, Any] | None = None
    if _value(cfg.features_from) == "run":
        logged = run_artifact(run_id, FEATURE_SPEC_ARTIFACT, scratch)
        if logged is not None:
            raw_spec = json.loads(logged.read_text())
        else:
            logger.warning("the model's run logged no %s: using the features config",
                           FEATURE_SPEC_ARTIFACT)
    if raw_spec is None:
        raw_spec = OmegaConf.to_container(cfg.features, resolve=True)
    spec = parse_feature_spec(raw_spec)
    materialise(cfg.data, show_progress=False)
    dataset = load_dataset(cfg.data)
    if as_of > dataset.extraction_date:
        raise ExplainInputError(
            f"as_of {as_of.date()} is after the data's extraction date "
            f"{dataset.extraction_date.date()} ({dataset.path}): its features would miss events"
        )
    customers = dataset.tables["customers"]
    if customer_ids is None:
        ids = customers.loc[customers["signed_up_at"] < as_of, "customer_id"].tolist()
        if not ids:
            raise ExplainInputError(f"no customer of {dataset.path} signed up before as_of "
                                    f"{as_of.date()}")
    else:
        ids = _typed_ids(customer_ids, customers["customer_id"])
        unknown = [value for value in ids if value not in set(customers["customer_id"])]
        if unknown:
            raise ExplainInputError(f"customer(s) {_listed(unknown)} are not in the customers "
                                    f"table of {dataset.path}")
    snapshots = pd.DataFrame({"customer_id": ids, "as_of": as_of})
    matrix = build_features(spec, dataset.tables, snapshots,
                            chunk_customers=int(cfg.engine.chunk_customers))
    return matrix.frame.set_index(list(ID_COLUMNS)), matrix.descriptions


def reference_from_matrix(path: Path | None, split: str | None, features: list[str],
                          exported: ExportedModel) -> pd.Series | None:
    """Medians of the model features on one split of a feature matrix (direction-aware texts)."""
    if path is None or split is None:
        return None
    dataset = ds.dataset(str(path), format="parquet")
    if "split" not in dataset.schema.names:
        logger.warning("%s has no split column: reasons use each entry's main text", path)
        return None
    present = [name for name in features if name in dataset.schema.names]
    rows = dataset.to_table(filter=ds.field("split") == split, columns=present).to_pandas()
    if rows.empty or len(present) < len(features):
        logger.warning("%s has no %s rows with every model feature: reasons use each entry's "
                       "main text", path, split)
        return None
    return reference_values(exported.inputs(rows))


def run_explain(cfg: DictConfig) -> ExplainResult:
    """The whole job: returns the explanations (also written to ``cfg.output`` when set)."""
    if not cfg.as_of:
        raise ConfigError("as_of is required: the snapshot date to explain, e.g. as_of=2025-01-01")
    as_of = utc_timestamp(str(cfg.as_of))
    if int(cfg.top_k) < 1 or int(cfg.print_rows) < 0:
        raise ConfigError(f"top_k must be >= 1 and print_rows >= 0; got top_k={cfg.top_k}, "
                          f"print_rows={cfg.print_rows}")
    customer_ids = None if cfg.customer_ids is None else list(cfg.customer_ids)
    if customer_ids is not None and not customer_ids:
        raise ConfigError("customer_ids is empty: list customers, or null for every one")
    dictionary = ReasonDictionary.from_config(cfg.reasons)
    mlflow.set_tracking_uri(resolve_tracking_uri(cfg.tracking_uri, Path.cwd()))

    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        loaded = load_model(cfg.model_uri, scratch)
        exported = loaded.exported
        matrix_path: Path | None = None
        if cfg.feature_matrix:
            matrix_path = Path(cfg.feature_matrix)
            if not matrix_path.exists():
                raise ExplainInputError(f"feature_matrix {matrix_path} does not exist")
        elif _value(cfg.source) == "matrix":
            matrix_path = training_rows(loaded.run_id, scratch)
        elif cfg.reference_split:
            try:
                matrix_path = training_rows(loaded.run_id, scratch)
            except ExplainInputError as error:
                logger.warning("no %s rows for reference values: %s", cfg.reference_split, error)
        descriptions = exported.descriptions
        if matrix_path is not None and _value(cfg.source) == "matrix":
            rows = matrix_rows(matrix_path, as_of, customer_ids, exported.features)
        else:
            rows, built = built_rows(cfg, loaded.run_id, scratch, as_of, customer_ids)
            descriptions = {**built, **{k: v for k, v in descriptions.items() if v}}
        inputs = exported.inputs(rows)
        reference = reference_from_matrix(matrix_path, cfg.reference_split, exported.features,
                                          exported)
    if reference is None and cfg.reference_split:
        logger.warning("no reference sample: each reason's main text is used whatever the value")
    explanations = explain_rows(
        exported.model, inputs, dictionary, top_k=int(cfg.top_k), language=_value(cfg.language),
        sensitive=SensitiveAttributes.from_config(cfg.fairness),
        descriptions=descriptions, reference=reference, method=_value(cfg.method),
    )
    output = _write(explanations, cfg, loaded.uri) if cfg.output else None
    return ExplainResult(explanations, loaded, as_of, output)


def _write(explanations: RowExplanations, cfg: DictConfig, uri: str) -> Path:
    path = Path(cfg.output)
    table = (explanations.wide().reset_index() if _value(cfg.output_form) == "wide"
             else explanations.reasons)
    table = table.assign(model_uri=uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path, index=False)
    return path


def report_lines(result: ExplainResult, language: Language | str, print_rows: int) -> str:
    """The console view: per customer the PD, the score and the numbered reasons."""
    language = Language(_value(language))
    explanations = result.explanations
    scores, reasons = explanations.scores, explanations.reasons
    lines = [f"{result.model.uri}: {len(scores):,} customer(s) at {result.as_of.date()}"]
    grouped = {key: group for key, group in reasons.groupby(list(ID_COLUMNS), sort=False)}
    for position, (key, row) in enumerate(scores.iterrows()):
        if position >= print_rows:
            lines.append(f"… {len(scores) - print_rows:,} more"
                         + (f" in {result.output}" if result.output else " (set output=… to "
                                                                         "write them all)"))
            break
        customer = key[0] if isinstance(key, tuple) else key
        lines.append(f"customer {customer}  PD {row['probability_of_default']:.2%}  "
                     f"score {row['score']:.0f}")
        group = grouped.get(key)
        if group is None or group.empty:
            lines.append("  no feature raises this customer's PD above the base")
            continue
        for _, reason in group.iterrows():
            text = {Language.zh: reason.get("text_zh"), Language.en: reason.get("text_en"),
                    Language.both: f"{reason.get('text_zh')} / {reason.get('text_en')}"}[language]
            value = "missing" if reason["value"] is None else reason["value"]
            lines.append(f"  {reason['rank']}. {reason['code']:<8} {text}  "
                         f"[{reason['feature']} = {value}; +{reason['contribution']:.3g} "
                         f"{reason['unit']}]")
    if result.output:
        lines.append(f"reasons written to {result.output}")
    return "\n".join(lines)


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


register_configs()


@job_entry("explain", usage_errors=(ExplainInputError,))
def main(cfg: DictConfig) -> None:
    result = run_explain(cfg)
    print(report_lines(result, cfg.language, int(cfg.print_rows)))


if __name__ == "__main__":
    main()
