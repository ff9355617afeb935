"""The served credit decision as one MLflow pyfunc: a feature vector in; the PD, the score, the
capacity quantiles, the limit decision with its rule and text, the campaign limits, the recourse
(what would raise a limit not raised, and when the policy next reviews it) and the top PD reasons
out.

The folder it serves from holds the PD model's own export (``pd/``, the files of
:mod:`credit_models.tracking.pd_pyfunc`), the capacity model (``capacity/``, UBJSON + JSON), and
``decision.json``: the policy config, which feature carries which account fact, the capacity
levels, the PD horizon, the reason dictionary and the reference (median) values of the PD
features the reasons are judged against. ``feature_contract.json`` at the root lists every input
the served model needs (the PD's, the capacity model's and the account facts', each once).

The decision is taken by :func:`~credit_models.limits.decisions.decide_limits`, the entry point
the jobs and the backtest use. With ``method: optimum`` the expected-loss budget is a portfolio
constraint: its price (the shadow price found on the training portfolio) is stored and applied as
is, so each row is decided on its own, whatever else the request holds. The recourse
(:func:`~credit_models.limits.recourse.limit_recourse`) is searched at that same price, so a row's
answer does not depend on the batch either.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.types.schema import ColSpec, Schema

from credit_models.errors import ContractViolation, DataContractError
from credit_models.explain.exported_model import load_model_folder
from credit_models.explain.local_explanations import explain_rows
from credit_models.explain.reason_codes import ReasonDictionary
from credit_models.features.sensitive import SensitiveAttributes
from credit_models.limits.account_facts import AccountFeatures, account_facts
from credit_models.limits.capacity_metrics import quantile_column
from credit_models.limits.capacity_model import CapacityModel
from credit_models.limits.decisions import LANGUAGES, decide_limits, load_policy
from credit_models.limits.promotion import next_window
from credit_models.limits.recourse import RECOURSE_DETAIL_COLUMNS, limit_recourse, next_review_at
from credit_models.models.input_contract import MISSING_TEXT, SCORING_INPUT
from credit_models.models.pd_model import PdModel
from credit_models.tracking.pd_pyfunc import (
    FEATURE_CONTRACT_FILE,
    refused_as_bad_request,
    typed_inputs,
    write_model_files,
)

ARTIFACT = "decision_model"
"""The one pyfunc artifact: the folder :func:`write_decision_model` writes."""
PD_FOLDER = "pd"
CAPACITY_FOLDER = "capacity"
DECISION_FILE = "decision.json"
AS_OF = "as_of"
"""Optional input column: the date the campaign windows are counted from (default: now, UTC)."""
REASON_COLUMN = re.compile(r"reason_\d+_(code|text)")
NEXT_REVIEW = "next_review_at"
"""Output column: the ISO date of the policy's next review of the row (a month start)."""
OPTIONAL_OUTPUTS = ("pd_needed", "spend_needed")
"""Recourse numbers that are null where that change is not the one needed."""


def decision_contract(
    pd_contract: Sequence[Mapping[str, Any]], capacity: CapacityModel,
    account: AccountFeatures, extra_contract: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Every input of the served model, each once: the PD contract's entries in model order, then
    the capacity model's features, then the account-fact features. An entry not in the PD contract
    is taken from ``extra_contract`` by name when there, else built from the capacity model's
    training types (``double`` or ``string`` with its categories; account facts are numbers)."""
    given = {str(entry["name"]): dict(entry) for entry in extra_contract or ()}
    contract = [dict(entry) for entry in pd_contract]
    seen = {entry["name"] for entry in contract}
    dtypes = dict(capacity.feature_dtypes_)
    for name in [*capacity.feature_names_, *account.names]:
        if name in seen:
            continue
        seen.add(name)
        if name in given:
            contract.append(given[name])
            continue
        dtype = dtypes.get(name, "float64")
        entry: dict[str, Any] = {"name": name, "description": ""}
        if isinstance(dtype, Mapping):
            entry.update(type="string", categories=[str(c) for c in dtype["categories"]])
        else:
            entry.update(type="double", categories=None)
        entry["missing"] = MISSING_TEXT
        contract.append(entry)
    return contract


def _json_number(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def _plain(raw: Mapping[str, Any] | None) -> Any:
    """A plain config mapping (enums by value, tuples as lists) as JSON-able containers: what
    ``decision.json`` stores and the served model parses again."""
    if raw is None:
        return None
    return json.loads(json.dumps(raw, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"not JSON-serialisable in a decision config: {value!r}")


def write_decision_model(
    folder: Path,
    pd_model: PdModel,
    contract: list[dict[str, Any]],
    capacity: CapacityModel,
    policy_config: Mapping[str, Any],
    account: Mapping[str, str],
    levels: Sequence[float],
    pd_horizon_months: int,
    reasons_config: Mapping[str, Any] | None,
    reference: pd.Series | None,
    top_reasons: int,
    *,
    language: str = "en",
    extra_contract: Sequence[Mapping[str, Any]] | None = None,
    shadow_price: float = 0.0,
    sensitive: SensitiveAttributes | None = None,
) -> dict[str, str]:
    """Write the served decision model's files into ``folder``; returns the pyfunc's artifacts
    (``{"decision_model": folder}``) for ``mlflow.pyfunc.log_model(artifacts=...)``.

    ``contract``: the PD model's feature contract (:func:`~credit_models.tracking.pd_pyfunc.
    feature_contract`). ``account``: fact → feature (``limits.account``). ``levels``: the
    capacity quantiles the policy reads (each must be one the capacity model predicts).
    ``reasons_config``: the reason dictionary's raw config (None: ``conf/reasons/default.yaml``).
    ``reference``: the PD features' typical values (:func:`~credit_models.explain.reason_codes.
    reference_values` of the development rows) or None. ``language``: the texts' default
    language (``en`` or ``zh``; a request may ask for the other). ``extra_contract``: entries
    (type, categories, description) for capacity/account features the PD contract lacks.
    ``sensitive``: the attributes never given as reasons (None: ``conf/fairness/default.yaml``),
    written into the files so the served model hides exactly these.

    Everything is checked as the served model will load it, so a bad policy, account mapping,
    dictionary or level fails here, not at serving time."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    levels = [float(level) for level in levels]
    predicted = [quantile_column(q) for q in capacity.quantiles_]
    absent = [quantile_column(level) for level in levels if quantile_column(level) not in predicted]
    if absent:
        raise ValueError(f"the policy reads capacity quantile(s) {absent}, but the capacity model "
                         f"predicts only {predicted}")
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {list(LANGUAGES)}; got {language!r}")
    if isinstance(top_reasons, bool) or int(top_reasons) < 1:
        raise ValueError(f"top_reasons must be an integer >= 1; got {top_reasons!r}")
    policy_raw = _plain(policy_config)
    load_policy(policy_raw, levels)
    mapping = AccountFeatures(**dict(account))
    reasons_raw = _plain(reasons_config)
    if reasons_raw is None:
        reasons_raw = ReasonDictionary.default_config()
    ReasonDictionary.from_config(reasons_raw)
    features = [entry["name"] for entry in contract]
    if features != list(pd_model.feature_names_in_):
        raise ValueError(f"the PD contract lists {features[:10]}, the model's features are "
                         f"{list(pd_model.feature_names_in_)[:10]}: give the contract of this "
                         f"model")

    pd_folder = folder / PD_FOLDER
    pd_folder.mkdir(exist_ok=True)
    write_model_files(pd_model, contract, pd_folder)
    capacity.save(folder / CAPACITY_FOLDER)
    full = decision_contract(contract, capacity, mapping, extra_contract)
    (folder / FEATURE_CONTRACT_FILE).write_text(json.dumps(full, indent=2, ensure_ascii=False))
    decision = {
        "policy": policy_raw,
        "account": {key: str(value) for key, value in dict(account).items()},
        "levels": levels,
        "pd_horizon_months": int(pd_horizon_months),
        "shadow_price": float(shadow_price),
        "top_reasons": int(top_reasons),
        "language": language,
        "reference": (None if reference is None else
                      {str(name): _json_number(value) for name, value in reference.items()
                       if name in features}),
        "reasons": reasons_raw,
        "sensitive": (SensitiveAttributes.default() if sensitive is None else sensitive
                      ).to_config(),
    }
    (folder / DECISION_FILE).write_text(json.dumps(decision, indent=2, ensure_ascii=False))
    return {ARTIFACT: str(folder)}


class CreditDecisionModel(mlflow.pyfunc.PythonModel):
    """PD, score, capacity, limit decision and reasons for every row of a feature frame.

    Columns out, one row per input row (same index): ``probability_of_default``, ``score``,
    ``capacity_q50``, ``capacity_q90`` (every fitted level), ``current_limit``, ``target_limit``,
    ``limit_action``, ``new_limit``, ``limit_reason_code``, ``limit_reason``, ``binding_rule``,
    ``binding_rule_text``, per campaign window ``promotion_<window>_extra``,
    ``promotion_<window>_starts_at`` and ``promotion_<window>_expires_at`` (ISO dates), the
    recourse (:data:`~credit_models.limits.recourse.RECOURSE_DETAIL_COLUMNS`: ``months_to_wait``,
    ``pd_needed``, ``spend_needed``, ``recourse``, ``limit_after``, ``recourse_en``,
    ``recourse_zh``; ``raised`` for a row raised now) and ``next_review_at`` (ISO date), then
    ``reason_1_code``, ``reason_1_text`` … ``reason_<top>_code/_text`` (None past a row's
    last reason). ``params={"language": "zh"}`` switches every text's language. An empty
    request gets an empty frame with these columns. A request breaking the input contract
    (:mod:`credit_models.models.input_contract`) or an unknown language is refused as a bad
    request (HTTP 400 when served) naming the column, the rule and the rows."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.load_folder(context.artifacts[ARTIFACT])

    def load_folder(self, folder: str | Path) -> CreditDecisionModel:
        folder = Path(folder)
        decision = json.loads((folder / DECISION_FILE).read_text())
        self.exported_ = load_model_folder(folder / PD_FOLDER)
        self.capacity_ = CapacityModel.load(folder / CAPACITY_FOLDER)
        self.levels_ = tuple(float(level) for level in decision["levels"])
        self.policy_ = load_policy(decision["policy"], self.levels_)
        self.account_ = AccountFeatures(**decision["account"])
        self.dictionary_ = ReasonDictionary.from_config(decision["reasons"])
        # Files written before the setting existed hide the default sensitive attributes.
        self.sensitive_ = (SensitiveAttributes.from_config(decision["sensitive"])
                           if "sensitive" in decision else SensitiveAttributes.default())
        self.pd_horizon_months_ = int(decision["pd_horizon_months"])
        self.shadow_price_ = float(decision.get("shadow_price", 0.0))
        self.top_reasons_ = int(decision["top_reasons"])
        self.language_ = str(decision.get("language") or "en")
        reference = decision.get("reference")
        self.reference_ = (None if reference is None else
                           pd.Series(reference, dtype="float64").dropna())
        self.contract_ = json.loads((folder / FEATURE_CONTRACT_FILE).read_text())
        return self

    def predict(
        self, context: mlflow.pyfunc.PythonModelContext | None, model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        language = str((params or {}).get("language") or self.language_)
        if language not in LANGUAGES:
            raise MlflowException(f"params.language must be one of {list(LANGUAGES)}; got "
                                  f"{language!r}", error_code=INVALID_PARAMETER_VALUE)
        frame = model_input.reset_index(drop=True)
        with refused_as_bad_request():
            inputs = typed_inputs(self.contract_, frame)   # every broken rule at once
            as_of = _as_of(frame)

        explained = explain_rows(
            self.exported_.model, inputs[self.exported_.features], self.dictionary_,
            top_k=self.top_reasons_, language=language,
            descriptions=self.exported_.descriptions, reference=self.reference_, n_threads=1,
            sensitive=self.sensitive_,
        )
        scores = explained.scores
        capacity = self.capacity_.predict_quantiles(inputs)
        portfolio = pd.concat([
            pd.DataFrame({"pd": scores["probability_of_default"]}, index=inputs.index),
            capacity, account_facts(inputs, self.account_),
        ], axis=1)
        first_as_of = as_of.iloc[0] if len(as_of) else pd.Timestamp.now(tz="UTC")
        decisions = decide_limits(portfolio, self.policy_, self.levels_, first_as_of,
                                  self.pd_horizon_months_, language, self.shadow_price_)
        customers = decisions.customers
        out = pd.concat([scores[["probability_of_default", "score"]], capacity], axis=1)
        out["current_limit"] = customers["current_limit"]
        out["target_limit"] = customers["target_limit"]
        out["limit_action"] = customers["action"].astype(object)
        out["new_limit"] = customers["new_limit"]
        out["limit_reason_code"] = customers["review_reason"].astype(object)
        out["limit_reason"] = customers["review_reason_text"].astype(object)
        out["binding_rule"] = customers["binding_rule"].astype(object)
        out["binding_rule_text"] = customers["binding_rule_text"].astype(object)
        for window in self.policy_.promotion.windows:
            out[f"promotion_{window.name}_extra"] = decisions.promotion_extra(window.name)
            dates = {moment: next_window(window, moment) for moment in as_of.unique()}
            out[f"promotion_{window.name}_starts_at"] = [
                dates[moment][0].date().isoformat() for moment in as_of]
            out[f"promotion_{window.name}_expires_at"] = [
                dates[moment][1].date().isoformat() for moment in as_of]
        recourse = limit_recourse(portfolio, self.policy_, self.levels_, first_as_of,
                                  self.pd_horizon_months_, self.shadow_price_)
        for column in RECOURSE_DETAIL_COLUMNS:
            values = recourse[column]
            out[column] = values if pd.api.types.is_numeric_dtype(values) else values.astype(object)
        out[NEXT_REVIEW] = [moment.date().isoformat()
                            for moment in next_review_at(as_of, recourse)]
        wide = explained.wide()
        for rank in range(1, self.top_reasons_ + 1):
            out[f"reason_{rank}_code"] = wide[f"reason_{rank}_code"].astype(object)
            out[f"reason_{rank}_text"] = wide[f"reason_{rank}_{language}"].astype(object)
        out.index = model_input.index
        return out


def _as_of(frame: pd.DataFrame) -> pd.Series:
    """Each row's reference date (UTC): the ``as_of`` column where given, else now."""
    now = pd.Timestamp.now(tz="UTC")
    if AS_OF not in frame.columns:
        return pd.Series(now, index=frame.index)
    # ISO8601: each value read on its own, so a date and a timestamp may share one request
    values = pd.to_datetime(frame[AS_OF], utc=True, errors="coerce", format="ISO8601")
    unreadable = np.flatnonzero(values.isna().to_numpy() & frame[AS_OF].notna().to_numpy())
    if len(unreadable):
        raise DataContractError([ContractViolation(
            SCORING_INPUT, AS_OF, "must be an ISO date or timestamp (null for now)",
            len(unreadable), pd.DataFrame({"row_position": unreadable[:5],
                                           "value": frame[AS_OF].iloc[unreadable[:5]].to_numpy()}),
        )])
    return values.fillna(now)


def decision_signature(example_inputs: pd.DataFrame, example_outputs: pd.DataFrame,
                       language: str = "en") -> ModelSignature:
    """The served model's signature: every input feature with its type (numbers as double,
    categories as string), ``as_of`` as an optional string column (an ISO date or timestamp; what
    a JSON request carries), the outputs, and the ``language``
    parameter (default ``language``)."""
    columns: dict[str, pd.Series] = {}
    for name in example_inputs.columns:
        values = example_inputs[name]
        if name == AS_OF:
            continue
        if isinstance(values.dtype, pd.CategoricalDtype) or not (
                pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            columns[name] = values.astype(object).where(values.notna(), None).map(
                lambda value: None if value is None else str(value))
        else:
            columns[name] = values.astype("float64")
    inputs = pd.DataFrame(columns, index=example_inputs.index)
    signature = infer_signature(inputs, example_outputs, params={"language": language})
    specs = [*signature.inputs.inputs, ColSpec("string", AS_OF, required=False)]
    # reason columns are text, None past a row's last reason (all None in a small example);
    # a recourse number is null where another change is the one needed
    outputs = [ColSpec("string", spec.name, required=False) if REASON_COLUMN.fullmatch(spec.name)
               else ColSpec("double", spec.name, required=False)
               if spec.name in OPTIONAL_OUTPUTS else spec for spec in signature.outputs.inputs]
    return ModelSignature(inputs=Schema(specs), outputs=Schema(outputs),
                          params=signature.params)
