"""A PD model's PD and top reasons for customers at a snapshot: which rows (a feature matrix's, or
features built from event data at ``as_of``), the reference values that tell high from low, the
explanations, and the file they are written to.

The model comes in rebuilt from its files (:class:`~credit_models.explain.exported_model.
ExportedModel`); what only the store holds (the training run's rows, its feature spec) is asked of
an :class:`ExplainSources`, so this module never touches the store.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from credit_models.errors import ConfigError
from credit_models.explain.contributions import ContributionMethod
from credit_models.explain.exported_model import ExportedModel
from credit_models.explain.local_explanations import RowExplanations, explain_rows
from credit_models.explain.reason_codes import (
    Direction,
    Language,
    ReasonDictionary,
    reference_values,
)
from credit_models.features.sensitive import FairnessSettings
from credit_models.timestamps import utc_timestamp
from credit_models.workflows.settings import (
    DataSettings,
    EngineKind,
    EngineSettings,
    FeaturesSettings,
)
from credit_models.workflows.training_rows import (
    LoggedTrainingRows,
    TrainingRowsError,
    training_rows_file,
)

if TYPE_CHECKING:
    from credit_models.features.spec import FeatureSpec

logger = logging.getLogger("credit_models.explain")

ID_COLUMNS = ("customer_id", "as_of")
_SHOWN = 20


class ExplainInputError(ValueError):
    """The request names a model, customer, date or file that does not exist; the message names
    it and what does exist."""


class ExplainSource(str, Enum):
    matrix = "matrix"
    data = "data"


class FeatureSpecSource(str, Enum):
    run = "run"
    config = "config"


class ReasonTableForm(str, Enum):
    wide = "wide"
    long = "long"


@dataclass
class ReasonTextConfig:
    code: str = ""
    zh: str = ""
    en: str = ""


@dataclass
class ReasonEntryConfig:
    """One reason-code entry; checked further by
    :meth:`credit_models.explain.reason_codes.ReasonDictionary.from_config`. Not frozen: the
    entries of a YAML list are merged into new nodes of this class."""

    pattern: str = ""
    code: str = ""
    zh: str = ""
    en: str = ""
    direction: Direction = Direction.any
    otherwise: ReasonTextConfig | None = None
    missing: ReasonTextConfig | None = None


@dataclass(frozen=True)
class ReasonsConfig:
    """``conf/reasons/*.yaml``: feature-name patterns → reason code and texts."""

    name: str = "default"
    entries: list[ReasonEntryConfig] = field(default_factory=list)


@dataclass(frozen=True)
class ExplainSettings:
    """``credit-models-explain``'s settings and Hydra schema (``conf/explain.yaml``)."""

    model_uri: str = "models:/pd_xgb@champion"
    """``models:/<name>@<alias>``, ``models:/<name>/<version>``, ``runs:/<run id>/model`` or a
    bare run id."""
    tracking_uri: str = "sqlite:///mlflow.db"
    source: ExplainSource = ExplainSource.matrix
    """matrix: rows of a feature matrix; data: features built from ``data`` at ``as_of``."""
    feature_matrix: str | None = None
    """A feature-matrix Parquet (customer_id, as_of, features…); null = the one the model's
    training run logged (also the reference sample for direction-aware reasons)."""
    features_from: FeatureSpecSource = FeatureSpecSource.run
    """source=data: the feature spec the training run logged, or the ``features`` config."""
    customer_ids: list[Any] | None = None
    """Customers to explain; null = every row at ``as_of`` (a batch)."""
    as_of: str | None = None
    """The snapshot date (required)."""
    top_k: int = 4
    language: Language = Language.both
    method: ContributionMethod = ContributionMethod.auto
    reference_split: str | None = "dev"
    """Split of the feature matrix whose medians tell high from low values; null = none."""
    output: str | None = None
    """Write the reasons here (.parquet or .csv); null = print only."""
    output_form: ReasonTableForm = ReasonTableForm.wide
    print_rows: int = 20
    """Customers printed to the console at most."""
    seed: int = 7
    """Seeds a simulated data set (source=data with data=simulated)."""
    data: DataSettings = field(default_factory=DataSettings)
    features: FeaturesSettings = field(default_factory=FeaturesSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    reasons: ReasonsConfig = field(default_factory=ReasonsConfig)
    fairness: FairnessSettings = field(default_factory=FairnessSettings)

    def __post_init__(self) -> None:
        if not self.as_of:
            raise ConfigError("as_of is required: the snapshot date to explain, e.g. "
                              "as_of=2025-01-01")
        utc_timestamp(str(self.as_of))      # a date that cannot be read stops the job here
        if int(self.top_k) < 1 or int(self.print_rows) < 0:
            raise ConfigError(f"top_k must be >= 1 and print_rows >= 0; got top_k={self.top_k}, "
                              f"print_rows={self.print_rows}")
        if self.customer_ids is not None and not self.customer_ids:
            raise ConfigError("customer_ids is empty: list customers, or null for every one")
        self.dictionary()       # checked before any work
        self._check_engine()

    def _check_engine(self) -> None:
        """engine=dask explains a batch built from a partitioned data set into a folder: refuse
        anything else before any work."""
        if EngineKind(getattr(self.engine.kind, "value", self.engine.kind)) is not EngineKind.dask:
            return
        if ExplainSource(self.source) is not ExplainSource.data:
            raise ConfigError("engine=dask builds each customer partition's rows on the cluster: "
                              "it needs source=data (a matrix's rows are explained locally; "
                              "drop engine=dask)")
        if self.customer_ids is not None:
            raise ConfigError("engine=dask explains a whole batch (customer_ids=null): a few "
                              "customers need no cluster; drop engine=dask")
        if not self.output:
            raise ConfigError("engine=dask writes the batch's reasons as a folder of Parquet part "
                              "files: set output=<folder>")

    @property
    def as_of_timestamp(self) -> pd.Timestamp:
        return utc_timestamp(str(self.as_of))

    def dictionary(self) -> ReasonDictionary:
        return ReasonDictionary.from_config(asdict(self.reasons))


class ExplainSources(Protocol):
    """What only the store holds about the explained model."""

    def training_rows(self) -> LoggedTrainingRows:
        """What the training run logged of its feature matrix; :class:`ExplainInputError` when
        it logged nothing of it."""

    def feature_spec(self) -> Mapping[str, Any] | None:
        """The feature spec the training run logged; None when it logged none."""


@dataclass(frozen=True)
class ExplainResult:
    explanations: RowExplanations
    model_uri: str
    as_of: pd.Timestamp
    output: Path | None
    total: int | None = None
    """Customers explained, when ``explanations`` holds only the first of them (a batch
    explained on a cluster gathers only those it prints); None: all of ``explanations``."""

    @property
    def customers(self) -> int:
        return len(self.explanations.scores) if self.total is None else self.total


def _listed(values: list[Any]) -> str:
    shown = ", ".join(str(value) for value in values[:_SHOWN])
    return shown + (f", … ({len(values)} in all)" if len(values) > _SHOWN else "")


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


def feature_spec(settings: ExplainSettings, sources: ExplainSources) -> FeatureSpec:
    """The spec features are built with (source=data): the training run's, else the config's."""
    from credit_models.features.spec import parse_feature_spec

    raw_spec: Mapping[str, Any] | None = None
    if settings.features_from is FeatureSpecSource.run:
        raw_spec = sources.feature_spec()
        if raw_spec is None:
            logger.warning("the model's run logged no feature spec: using the features config")
    if raw_spec is None:
        raw_spec = asdict(settings.features)
    return parse_feature_spec(raw_spec)


def signed_up_before(customers: pd.DataFrame, as_of: pd.Timestamp) -> list[Any]:
    """A batch's customers: every one signed up before ``as_of``."""
    return customers.loc[customers["signed_up_at"] < as_of, "customer_id"].tolist()


def rows_at(spec: FeatureSpec, tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp,
            ids: list[Any] | None = None,
            chunk_customers: int = 10_000) -> tuple[pd.DataFrame, dict[str, str]]:
    """Features of ``ids`` (None: :func:`signed_up_before` ``as_of``) built from ``tables`` at
    ``as_of``, indexed by (customer_id, as_of), and their descriptions. The one implementation
    of a whole data set's rows (:func:`built_rows`) and of a customer partition's (the Dask
    engine's batch)."""
    from credit_models.features.engine import build_features

    if ids is None:
        ids = signed_up_before(tables["customers"], as_of)
    snapshots = pd.DataFrame({"customer_id": ids, "as_of": as_of})
    matrix = build_features(spec, dict(tables), snapshots, chunk_customers=int(chunk_customers))
    return matrix.frame.set_index(list(ID_COLUMNS)), matrix.descriptions


def built_rows(settings: ExplainSettings, sources: ExplainSources, as_of: pd.Timestamp,
               customer_ids: list[Any] | None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Features built from the configured event data at ``as_of``, indexed by (customer_id,
    as_of), and their descriptions."""
    from credit_models.workflows.dataset import load_dataset, materialise

    spec = feature_spec(settings, sources)
    materialise(settings.data, show_progress=False)
    dataset = load_dataset(settings.data)
    if as_of > dataset.extraction_date:
        raise ExplainInputError(
            f"as_of {as_of.date()} is after the data's extraction date "
            f"{dataset.extraction_date.date()} ({dataset.path}): its features would miss events"
        )
    customers = dataset.tables["customers"]
    if customer_ids is None:
        ids = signed_up_before(customers, as_of)
        if not ids:
            raise ExplainInputError(f"no customer of {dataset.path} signed up before as_of "
                                    f"{as_of.date()}")
    else:
        ids = _typed_ids(customer_ids, customers["customer_id"])
        unknown = [value for value in ids if value not in set(customers["customer_id"])]
        if unknown:
            raise ExplainInputError(f"customer(s) {_listed(unknown)} are not in the customers "
                                    f"table of {dataset.path}")
    return rows_at(spec, dataset.tables, as_of, ids, settings.engine.chunk_customers)


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


def run_rows_file(sources: ExplainSources) -> Path:
    """The training run's feature matrix (Parquet): the one it logged, else the one rebuilt from
    its matrix reference and checked against its fingerprint."""
    try:
        return training_rows_file(sources.training_rows())
    except TrainingRowsError as error:
        raise ExplainInputError(str(error)) from error


def matrix_path(settings: ExplainSettings, sources: ExplainSources) -> Path | None:
    """The feature matrix the rows (source=matrix) and the reference values come from: the one
    given, else the training run's; None when only reference values wanted it and it has none."""
    if settings.feature_matrix:
        path = Path(settings.feature_matrix)
        if not path.exists():
            raise ExplainInputError(f"feature_matrix {path} does not exist")
        return path
    if settings.source is ExplainSource.matrix:
        return run_rows_file(sources)
    if settings.reference_split:
        try:
            return run_rows_file(sources)
        except ExplainInputError as error:
            logger.warning("no %s rows for reference values: %s", settings.reference_split, error)
    return None


def explain_customers(settings: ExplainSettings, exported: ExportedModel, model_uri: str,
                      sources: ExplainSources) -> ExplainResult:
    """The explanations of the settings' customers at ``as_of`` (also written to
    ``settings.output`` when set)."""
    as_of = settings.as_of_timestamp
    customer_ids = None if settings.customer_ids is None else list(settings.customer_ids)
    path = matrix_path(settings, sources)
    descriptions = exported.descriptions
    if path is not None and settings.source is ExplainSource.matrix:
        rows = matrix_rows(path, as_of, customer_ids, exported.features)
    else:
        rows, built = built_rows(settings, sources, as_of, customer_ids)
        descriptions = {**built, **{k: v for k, v in descriptions.items() if v}}
    inputs = exported.inputs(rows)
    reference = reference_from_matrix(path, settings.reference_split, exported.features,
                                      exported)
    if reference is None and settings.reference_split:
        logger.warning("no reference sample: each reason's main text is used whatever the value")
    explanations = explain_rows(
        exported.model, inputs, settings.dictionary(), top_k=int(settings.top_k),
        language=settings.language.value, sensitive=settings.fairness.sensitive,
        descriptions=descriptions, reference=reference, method=settings.method.value,
    )
    output = write_reasons(explanations, settings, model_uri) if settings.output else None
    return ExplainResult(explanations, model_uri, as_of, output)


def reason_table(explanations: RowExplanations, form: ReasonTableForm, uri: str) -> pd.DataFrame:
    """The table written: one row per customer (wide) or per reason (long), with the model's
    URI."""
    table = (explanations.wide().reset_index() if form is ReasonTableForm.wide
             else explanations.reasons)
    return table.assign(model_uri=uri)


def write_reasons(explanations: RowExplanations, settings: ExplainSettings, uri: str) -> Path:
    path = Path(str(settings.output))
    table = reason_table(explanations, settings.output_form, uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path, index=False)
    return path


def report_lines(result: ExplainResult, language: Language | str, print_rows: int) -> str:
    """The console view: per customer the PD, the score and the numbered reasons."""
    language = Language(getattr(language, "value", language))
    explanations = result.explanations
    scores, reasons = explanations.scores, explanations.reasons
    total = result.customers
    lines = [f"{result.model_uri}: {total:,} customer(s) at {result.as_of.date()}"]
    grouped = {key: group for key, group in reasons.groupby(list(ID_COLUMNS), sort=False)}
    for position, (key, row) in enumerate(scores.iterrows()):
        if position >= print_rows:
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
    if total > print_rows:
        lines.append(f"… {total - print_rows:,} more"
                     + (f" in {result.output}" if result.output else " (set output=… to "
                                                                     "write them all)"))
    if result.output:
        lines.append(f"reasons written to {result.output}")
    return "\n".join(lines)
