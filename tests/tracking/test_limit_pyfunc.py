"""The served credit decision: the exported PD exactly, a limit decided by the policy, the top
reasons in words, the recourse of a limit not raised, and every input it needs named when one is
missing."""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import asdict

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import scoring_server

from credit_models.explain.exported_model import load_model_folder
from credit_models.explain.reason_codes import reference_values
from credit_models.features.sensitive import SensitiveAttributes
from credit_models.limits.account_facts import AccountFeatures, account_facts
from credit_models.limits.capacity_model import CapacityModel, CapacitySettings
from credit_models.limits.recourse import RECOURSE_DETAIL_COLUMNS, limit_recourse
from credit_models.models.pd_model import PdModel
from credit_models.models.settings import ModelSettings
from credit_models.paths import config_dir
from credit_models.tracking.limit_pyfunc import (
    ARTIFACT,
    CreditDecisionModel,
    decision_signature,
    write_decision_model,
)
from credit_models.tracking.model_code import DECISION_MODEL_CODE
from credit_models.tracking.pd_pyfunc import feature_contract, public_inputs, typed_inputs
from tests.explain.conftest import CITY_TIER, DESCRIPTIONS, FEATURES, ORDERS, PROMOTION

ACCOUNT = asdict(AccountFeatures())
NEW_CHARGES = "statements__new_charges__mean__90d"
CAPACITY_FEATURES = [ORDERS, PROMOTION, CITY_TIER, NEW_CHARGES]
LEVELS = (0.5, 0.9)
TOP = 3
SHADOW_PRICE = 0.5
RECOURSE = [*RECOURSE_DETAIL_COLUMNS, "next_review_at"]


def synthetic(rows: int, seed: int) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Features (PD, capacity and account facts), default flags and peak demand."""
    rng = np.random.default_rng(seed)
    tier = pd.Categorical(rng.choice(["1", "2", "3", "4"], rows), categories=["1", "2", "3", "4"])
    limit = np.where(rng.random(rows) < 0.1, np.nan, np.round(rng.uniform(500, 20000, rows), -2))
    frame = pd.DataFrame({
        FEATURES[0]: np.where(rng.random(rows) < 0.7, 0.0, rng.integers(1, 60, rows)),
        FEATURES[1]: np.where(rng.random(rows) < 0.9, 0.0, rng.integers(1, 45, rows)),
        FEATURES[2]: rng.beta(2, 3, rows),
        ORDERS: rng.poisson(6, rows).astype(float),
        FEATURES[4]: np.where(rng.random(rows) < 0.1, np.nan, rng.gamma(1.5, 0.1, rows)),
        PROMOTION: rng.gamma(1.2, 200.0, rows),
        CITY_TIER: tier,
        NEW_CHARGES: rng.gamma(2.0, 800.0, rows),
        ACCOUNT["current_limit"]: limit,
        ACCOUNT["balance"]: np.nan_to_num(limit) * rng.uniform(0, 1, rows),
        ACCOUNT["days_since_delinquency"]: np.where(rng.random(rows) < 0.7, np.nan,
                                                    rng.integers(0, 400, rows)),
        ACCOUNT["days_since_raise"]: np.where(rng.random(rows) < 0.6, np.nan,
                                              rng.integers(0, 400, rows)),
    })
    log_odds = (-3.0 + 0.04 * frame[FEATURES[0]] + 0.05 * frame[FEATURES[1]]
                + 2.0 * frame[FEATURES[2]] - 0.08 * frame[ORDERS])
    is_bad = pd.Series(rng.random(rows) < 1 / (1 + np.exp(-log_odds)))
    demand = pd.Series(frame[NEW_CHARGES] * rng.lognormal(0.0, 0.4, rows))
    return frame, is_bad, demand


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    frame, is_bad, demand = synthetic(1600, seed=3)
    pd_inputs = frame[list(FEATURES)]
    settings = ModelSettings(**{
        "name": "pd_xgboost", "family": "xgboost", "early_stopping_rounds": 5,
        "params": {"n_estimators": 40, "max_depth": 3, "learning_rate": 0.3, "n_jobs": 1},
    })
    pd_model = PdModel.from_settings(settings, random_state=7).fit(
        pd_inputs[:1000], is_bad[:1000], eval_set=(pd_inputs[1000:1300], is_bad[1000:1300]),
        calibration_set=(pd_inputs[1000:1300], is_bad[1000:1300]))
    capacity = CapacityModel(CapacitySettings(
        quantiles=LEVELS, params={"n_estimators": 20, "max_depth": 3, "learning_rate": 0.3}))
    capacity.fit(frame[CAPACITY_FEATURES][:1000], demand[:1000])

    folder = tmp_path_factory.mktemp("decision")
    policy = yaml.safe_load((config_dir() / "policy" / "default.yaml").read_text("utf-8"))
    artifacts = write_decision_model(
        folder / "files", pd_model, feature_contract(pd_inputs, DESCRIPTIONS), capacity, policy,
        ACCOUNT, LEVELS, pd_horizon_months=12, reasons_config=None, shadow_price=SHADOW_PRICE,
        reference=reference_values(pd_inputs[:1000]), top_reasons=TOP,
        # as the limits job does: every input's contract (and accepted range) from training
        extra_contract=feature_contract(frame[:1300], {
            **DESCRIPTIONS, NEW_CHARGES: "mean monthly new charges, the last 90 days"}),
    )
    scoring = public_inputs(frame[1300:1312])
    example = CreditDecisionModel().load_folder(artifacts[ARTIFACT]).predict(None, scoring)
    path = folder / "pyfunc"
    mlflow.pyfunc.save_model(path, python_model=str(DECISION_MODEL_CODE), artifacts=artifacts,
                             signature=decision_signature(scoring, example),
                             pip_requirements=["mlflow", "xgboost"])
    return mlflow.pyfunc.load_model(str(path)), scoring, artifacts[ARTIFACT]


def test_decision_has_every_column_and_the_exported_pd(served):
    model, scoring, folder = served
    out = model.predict(scoring.assign(as_of="2025-05-20"))
    windows = ("618", "double_11")
    expected = ["probability_of_default", "score", "capacity_q50", "capacity_q90",
                "current_limit", "target_limit", "limit_action", "new_limit",
                "limit_reason_code", "limit_reason", "binding_rule", "binding_rule_text",
                *[f"promotion_{w}_{field}" for w in windows
                  for field in ("extra", "starts_at", "expires_at")],
                *RECOURSE,
                *[f"reason_{k}_{field}" for k in range(1, TOP + 1) for field in ("code", "text")]]
    assert list(out.columns) == expected
    assert len(out) == len(scoring) and out.index.equals(scoring.index)

    exported = load_model_folder(f"{folder}/pd")
    probability = exported.model.predict_proba(exported.inputs(scoring))[:, 1]
    assert np.abs(out["probability_of_default"].to_numpy() - probability).max() == 0.0
    assert (out["new_limit"] >= 0).all() and out["new_limit"].notna().all()
    assert out["limit_reason"].map(bool).all() and out["binding_rule_text"].map(bool).all()
    assert (out["promotion_618_starts_at"] == "2025-06-01").all()
    assert (out["promotion_double_11_expires_at"] == "2025-11-14").all()
    has_reason = out["reason_1_code"].notna()
    assert has_reason.any()
    assert out.loc[has_reason, "reason_1_text"].map(lambda text: bool(text and text.strip())).all()
    for k in range(1, TOP + 1):   # a code always comes with its text
        assert (out[f"reason_{k}_code"].notna() == out[f"reason_{k}_text"].notna()).all()


def test_language_param_switches_every_text(served):
    model, scoring, _ = served
    english = model.predict(scoring)
    chinese = model.predict(scoring, params={"language": "zh"})
    assert (chinese["limit_reason_code"] == english["limit_reason_code"]).all()
    assert (chinese["limit_reason"] != english["limit_reason"]).all()
    row = chinese["reason_1_text"].first_valid_index()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese.loc[row, "reason_1_text"])


def test_signature_and_contract_list_every_input(served):
    model, scoring, folder = served
    inputs = {spec.name: spec for spec in model.metadata.get_input_schema().inputs}
    assert set(scoring.columns) <= set(inputs) and not inputs["as_of"].required
    assert inputs[NEW_CHARGES].type.name == "double" and inputs[CITY_TIER].type.name == "string"
    with open(f"{folder}/feature_contract.json", encoding="utf-8") as handle:
        names = [entry["name"] for entry in json.load(handle)]
    assert len(names) == len(set(names)) == len(scoring.columns)
    assert names[: len(FEATURES)] == list(FEATURES)


def test_missing_capacity_and_account_features_are_named(served):
    model, scoring, folder = served
    lacking = scoring.drop(columns=[NEW_CHARGES, ACCOUNT["balance"]])
    direct = CreditDecisionModel().load_folder(folder)
    with pytest.raises(MlflowException, match="lack 2 model feature") as error:
        direct.predict(None, lacking)
    assert NEW_CHARGES in str(error.value) and ACCOUNT["balance"] in str(error.value)
    with pytest.raises(Exception, match=NEW_CHARGES):
        model.predict(lacking)


def test_a_row_is_decided_the_same_alone_or_in_a_batch(served):
    model, scoring, _ = served
    batch = model.predict(scoring.assign(as_of="2025-05-20"))
    for row in range(0, len(scoring), 5):
        alone = model.predict(scoring.iloc[[row]].assign(as_of="2025-05-20"))
        assert alone["target_limit"].iloc[0] == batch["target_limit"].iloc[row]
        assert alone["new_limit"].iloc[0] == batch["new_limit"].iloc[row]



@pytest.fixture(scope="module")
def many(served):
    """300 held-out rows scored as one batch: every kind of recourse occurs among them."""
    model, _, _ = served
    rows = public_inputs(synthetic(1600, seed=3)[0][1300:1600]).assign(as_of="2025-05-20")
    return rows, model.predict(rows)


def test_recourse_is_the_policys_own_at_the_stored_price(served, many):
    _, _, folder = served
    rows, out = many
    assert {"raised", "wait", "lower_risk", "more_spending", "none_found"} <= set(out["recourse"])
    # the same rows through limit_recourse, at the price the files store
    direct = CreditDecisionModel().load_folder(folder)
    inputs = typed_inputs(direct.contract_, rows.reset_index(drop=True))
    portfolio = pd.concat([
        pd.DataFrame({"pd": out["probability_of_default"].to_numpy()}, index=inputs.index),
        direct.capacity_.predict_quantiles(inputs), account_facts(inputs, direct.account_),
    ], axis=1)
    expected = limit_recourse(portfolio, direct.policy_, LEVELS,
                              pd.Timestamp("2025-05-20", tz="UTC"), 12, shadow_price=SHADOW_PRICE)
    served_recourse = out[list(RECOURSE_DETAIL_COLUMNS)].reset_index(drop=True)
    pd.testing.assert_frame_equal(served_recourse, expected[list(RECOURSE_DETAIL_COLUMNS)],
                                  check_dtype=False)


def test_a_raised_row_says_raised_and_a_held_one_what_would_raise_it(many):
    _, out = many
    raised = out["limit_action"].isin(["raise", "grant"])
    assert raised.any() and (~raised).any()
    assert (out.loc[raised, "recourse"] == "raised").all()
    assert (out.loc[raised, "recourse_en"] == "the limit has been raised").all()
    assert (out.loc[raised, "limit_after"] == out.loc[raised, "new_limit"]).all()
    held = out[~raised]
    assert not (held["recourse"] == "raised").any()
    # a change that raises brings more than the current limit
    found = held["recourse"].isin(["wait", "lower_risk", "more_spending"])
    assert (held.loc[found, "limit_after"] > held.loc[found, "current_limit"]).all()
    lower = held["recourse"] == "lower_risk"
    assert (held.loc[lower, "pd_needed"] < held.loc[lower, "probability_of_default"]).all()
    assert held.loc[held["recourse"] == "more_spending", "spend_needed"].gt(1).all()
    assert (held.loc[held["recourse"] == "wait", "months_to_wait"] > 0).all()


def test_recourse_speaks_only_of_behaviour_the_customer_controls(many):
    _, out = many
    held = out[out["recourse"].isin(["wait", "lower_risk", "more_spending", "none_found"])]
    behaviour_en = ("on time", "on-time", "using less of the limit", "spending")
    behaviour_zh = ("按时还款", "额度使用率", "消费")
    assert held["recourse_en"].map(lambda text: any(w in text for w in behaviour_en)).all()
    assert held["recourse_zh"].map(lambda text: any(w in text for w in behaviour_zh)).all()
    lower = out[out["recourse"] == "lower_risk"]
    assert lower["recourse_en"].str.contains("using less of the limit").all()
    assert lower["recourse_zh"].str.contains("降低额度使用率").all()
    attributes = [name.replace("_", " ") for name in SensitiveAttributes.default().patterns]
    words = [*attributes, "sex", "marri", "city", "region", "年龄", "性别", "婚姻", "民族", "籍贯",
             "户籍", "宗教", "城市"]
    texts = pd.concat([out["recourse_en"].str.lower(), out["recourse_zh"]])
    assert not texts.map(lambda text: any(word in text for word in words)).any()


def test_a_feature_marked_sensitive_is_never_a_reason_and_leaves_the_recourse(served, many,
                                                                          tmp_path):
    _, _, folder = served
    rows, out = many
    utilisation_code = "R09"           # the most frequent reason of these rows
    assert (out["reason_1_code"] == utilisation_code).any()
    marked = tmp_path / "marked"
    shutil.copytree(folder, marked)
    decision = json.loads((marked / "decision.json").read_text())
    decision["sensitive"] = SensitiveAttributes({"region": (FEATURES[2],)}).to_config()
    (marked / "decision.json").write_text(json.dumps(decision))
    hidden = CreditDecisionModel().load_folder(marked).predict(None, rows)
    codes = hidden[[f"reason_{k}_code" for k in range(1, TOP + 1)]]
    assert not codes.isin([utilisation_code]).any().any()
    pd.testing.assert_frame_equal(hidden[RECOURSE], out[RECOURSE])


def test_a_rows_recourse_is_the_same_alone_or_in_a_batch(served, many):
    model, _, _ = served
    rows, out = many
    one_per_code = out.reset_index().groupby("recourse")["index"].first()
    for label in one_per_code:
        alone = model.predict(rows.loc[[label]])
        pd.testing.assert_frame_equal(alone[RECOURSE], out.loc[[label], RECOURSE])


def test_next_review_is_the_month_start_after_the_wait(served, many):
    model, _, _ = served
    rows, out = many
    as_of = pd.Timestamp("2025-05-20")
    waits = out["months_to_wait"].where(out["recourse"] != "raised", 0).astype(int)
    # the review at as_of + wait months is mid-month: the next month start reviews it
    expected = [(as_of + pd.DateOffset(months=wait + 1)).replace(day=1).date().isoformat()
                for wait in waits]
    assert out["next_review_at"].tolist() == expected
    assert (waits > 0).any() and (out.loc[waits == 0, "next_review_at"] == "2025-06-01").all()
    # a request dated on a month start: the regular review is the next one; a wait ending on a
    # month start is reviewed that day; each row by its own as_of
    waiting = out.index[waits > 0][0]
    dated = rows.loc[[waiting, out.index[waits == 0][0]]].assign(as_of=["2025-06-01",
                                                                         "2025-12-31T12:00:00"])
    answer = model.predict(dated)
    assert answer["next_review_at"].tolist() == [
        (pd.Timestamp("2025-06-01") + pd.DateOffset(months=int(waits[waiting]))).date().isoformat(),
        "2026-01-01"]
    undated = model.predict(rows.head(2).drop(columns="as_of"))
    assert (pd.to_datetime(undated["next_review_at"]) > pd.Timestamp.now()).all()


def test_an_empty_request_gets_an_empty_answer_with_every_column(served):
    model, scoring, _ = served
    expected = model.predict(scoring.head(2)).columns.tolist()
    out = model.predict(scoring.head(0))
    assert out.empty and out.columns.tolist() == expected


@pytest.mark.parametrize("column,value,rule", [
    (FEATURES[1], -1e9, "must lie in the accepted range [0, "),       # days past due
    (ACCOUNT["current_limit"], 1e308, "must lie in the accepted range [0, "),
    (ORDERS, np.inf, "must be finite"),
])
def test_implausible_inputs_are_refused_naming_column_rule_and_rows(served, column, value, rule):
    model, scoring, _ = served
    bad = scoring.copy()
    bad.loc[bad.index[[1, 4]], column] = value
    with pytest.raises(MlflowException) as raised:
        model.predict(bad)
    message = raised.value.message
    assert raised.value.get_http_status_code() == 400
    assert f"[scoring input.{column}] {rule}" in message and "2 row(s)" in message
    assert [line.split()[0] for line in message.splitlines()[-2:]] == ["1", "4"]


def test_a_value_a_little_beyond_the_training_range_is_still_decided(served):
    model, scoring, folder = served
    with open(f"{folder}/feature_contract.json", encoding="utf-8") as handle:
        entry = next(item for item in json.load(handle) if item["name"] == FEATURES[1])
    beyond = scoring.head(2).assign(**{FEATURES[1]: entry["training_range"][1] * 1.2})
    assert model.predict(beyond)["new_limit"].notna().all()


def invoke_scoring_app(model, body: dict, monkeypatch) -> tuple[int, dict]:
    """POST ``body`` to ``/invocations`` of the app ``mlflow models serve`` runs, in process (the
    ASGI call a web server makes; no port, no subprocess)."""
    monkeypatch.setenv("MLFLOW_IS_IN_SERVING_ENVIRONMENT", "true")   # init sets it; restored
    app = scoring_server.init(model)
    messages: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}

    async def send(message: dict) -> None:
        messages.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/invocations",
             "raw_path": b"/invocations", "root_path": "", "query_string": b"",
             "headers": [(b"content-type", b"application/json")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return status, json.loads(content)


def test_the_scoring_server_answers_bad_input_with_a_clean_400(served, monkeypatch):
    model, scoring, _ = served
    rows = scoring.head(3).astype(object).where(scoring.head(3).notna(), None)
    rows[FEATURES[1]] = [0.0, -1e9, 2.0]
    status, answer = invoke_scoring_app(model, {"dataframe_split": {
        "columns": list(rows.columns), "data": rows.to_numpy().tolist()}}, monkeypatch)
    assert status == 400 and answer["error_code"] == "INVALID_PARAMETER_VALUE"
    assert f"[scoring input.{FEATURES[1]}] must lie in the accepted range" in answer["message"]
    assert "stack_trace" not in answer and "Traceback" not in answer["message"]

    status, answer = invoke_scoring_app(model, {"dataframe_split": {
        "columns": list(rows.columns), "data": []}}, monkeypatch)
    assert status == 200 and answer["predictions"] == []
