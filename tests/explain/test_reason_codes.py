from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from credit_models.data.contract import ATTRIBUTE_PREFIX
from credit_models.data.simulator import SimulatorConfig, simulate_portfolio
from credit_models.errors import ConfigError
from credit_models.explain.contributions import model_contributions
from credit_models.explain.reason_codes import (
    UNMAPPED,
    ReasonDictionary,
    reason_codes,
    reference_values,
    scorecard_reason_codes,
    unmapped_features,
    wide_reason_codes,
)
from credit_models.features.sensitive import SensitiveAttributes
from credit_models.features.spec import feature_name, parse_feature_spec
from credit_models.paths import config_dir
from tests.explain.conftest import (
    CITY_TIER,
    CURRENT_DPD,
    DAYS_LATE,
    DESCRIPTIONS,
    FEATURES,
    ORDERS,
    UTILISATION,
)

LATE = {"pattern": "cures__days_late__*", "code": "R01", "zh": "近期有逾期还款记录",
        "en": "late repayments in recent months", "direction": "high"}
OVERDUE = {"pattern": "delinquency__days_past_due__current", "code": "R01",
           "zh": "近期有逾期还款记录", "en": "late repayments in recent months"}
USE = {"pattern": "limit__utilisation__*", "code": "R02", "zh": "额度使用率高",
       "en": "high use of the credit limit"}
THIN = {"pattern": "orders__order__count__*", "code": "R03", "zh": "消费和还款记录较少",
        "en": "a short history of purchases and repayments", "direction": "low",
        "otherwise": {"code": "R04", "zh": "近期消费笔数较多", "en": "many purchases in recent months"}}


def small_dictionary(*entries: dict) -> ReasonDictionary:
    return ReasonDictionary.from_config({"name": "test",
                                         "entries": list(entries) or [LATE, OVERDUE, USE, THIN]})


def frames(contributions: dict[str, list[float]], values: dict[str, list[object]] | None = None
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    index = pd.Index([101, 102, 103][: len(next(iter(contributions.values())))],
                     name="customer_id")
    pushed = pd.DataFrame(contributions, index=index)
    values = values or {name: [1.0] * len(index) for name in contributions}
    return pushed, pd.DataFrame(values, index=index)


def test_only_features_that_raise_the_pd_become_reasons_strongest_first():
    pushed, values = frames({DAYS_LATE: [0.9, -0.4], UTILISATION: [0.3, 0.2],
                             ORDERS: [-0.5, 0.0]})
    long = reason_codes(pushed, values, small_dictionary(), top_k=4)
    assert (long["contribution"] > 0).all()
    first = long[long["customer_id"] == 101]
    assert first["feature"].tolist() == [DAYS_LATE, UTILISATION]
    assert first["rank"].tolist() == [1, 2]
    assert first["code"].tolist() == ["R01", "R02"]
    second = long[long["customer_id"] == 102]
    assert second["feature"].tolist() == [UTILISATION]     # days late lowered it, orders did not move it


def test_features_sharing_a_code_are_merged_with_their_contributions_summed():
    # Days late and the current overdue bill share R01: 0.3 + 0.25 beat utilisation's 0.5.
    pushed, values = frames({DAYS_LATE: [0.3], CURRENT_DPD: [0.25], UTILISATION: [0.5]})
    long = reason_codes(pushed, values, small_dictionary(), top_k=2)
    assert long["code"].tolist() == ["R01", "R02"]
    assert long["contribution"].tolist() == pytest.approx([0.55, 0.5])
    assert long["feature"].iloc[0] == DAYS_LATE                          # the stronger of the two
    assert long["features"].iloc[0] == f"{DAYS_LATE}, {CURRENT_DPD}"
    assert long["code"].is_unique


def test_top_k_counts_reasons_after_merging():
    pushed, values = frames({DAYS_LATE: [0.3], CURRENT_DPD: [0.25], UTILISATION: [0.1],
                             ORDERS: [0.05]})
    long = reason_codes(pushed, values, small_dictionary(), top_k=2)
    assert long["code"].tolist() == ["R01", "R02"]


def test_a_feature_without_entry_is_reported_as_unmapped_with_its_description():
    pushed, values = frames({"mystery__thing__sum__30d": [0.7], "other__thing__sum__30d": [0.6],
                             UTILISATION: [0.2]})
    long = reason_codes(pushed, values, small_dictionary(), top_k=3,
                        descriptions={"mystery__thing__sum__30d": "total mystery, last 30 days"})
    assert long["code"].tolist() == [UNMAPPED, UNMAPPED, "R02"]          # never merged together
    assert long["text_en"].iloc[0] == "total mystery, last 30 days"
    assert "total mystery" in long["text_zh"].iloc[0]
    assert long["text_en"].iloc[1] == "other__thing__sum__30d"          # no description: its name
    assert (long["text_zh"].str.len() > 0).all() and (long["text_en"].str.len() > 0).all()
    assert unmapped_features(["mystery__thing__sum__30d", UTILISATION],
                             small_dictionary()) == ["mystery__thing__sum__30d"]


@pytest.mark.parametrize("language,present,absent", [
    ("zh", ["text_zh"], ["text_en"]), ("en", ["text_en"], ["text_zh"]),
    ("both", ["text_zh", "text_en"], []),
])
def test_language_chooses_the_text_columns(language, present, absent):
    pushed, values = frames({DAYS_LATE: [0.9], UTILISATION: [0.3]})
    long = reason_codes(pushed, values, small_dictionary(), language=language)
    assert all(column in long for column in present)
    assert not any(column in long for column in absent)
    wide = wide_reason_codes(long, index=pushed.index, top_k=3)
    for suffix in ("zh", "en"):
        assert (f"reason_1_{suffix}" in wide) == (f"text_{suffix}" in present)
    if "text_zh" in present:
        assert wide.loc[101, "reason_1_zh"] == "近期有逾期还款记录"
    with pytest.raises(ValueError, match="language must be one of"):
        reason_codes(pushed, values, small_dictionary(), language="fr")


def test_wide_form_has_one_row_per_input_row_with_none_where_reasons_run_out():
    pushed, values = frames({DAYS_LATE: [0.9, -0.1, 0.2], UTILISATION: [0.3, -0.2, -0.1]})
    long = reason_codes(pushed, values, small_dictionary(), top_k=2)
    wide = wide_reason_codes(long, index=pushed.index, top_k=2)
    assert wide.index.equals(pushed.index)
    assert wide.loc[101, ["reason_1_code", "reason_2_code"]].tolist() == ["R01", "R02"]
    assert wide.loc[102].drop(["reason_1_contribution", "reason_2_contribution"]).isna().all()
    assert wide.loc[103, "reason_1_en"] == "late repayments in recent months"
    assert wide.loc[103, "reason_2_code"] is None


def test_direction_aware_text_follows_the_value_against_the_reference():
    # Few orders raise the PD of customer 101 (a short history), many those of 102.
    pushed, values = frames({ORDERS: [0.4, 0.3, 0.2], DAYS_LATE: [0.1, 0.1, 0.1]},
                            {ORDERS: [1.0, 15.0, 6.0], DAYS_LATE: [20.0, 0.0, np.nan]})
    reference = pd.Series({ORDERS: 6.0, DAYS_LATE: 0.0})
    long = reason_codes(pushed, values, small_dictionary(), reference=reference)
    by_customer = {key: group for key, group in long.groupby("customer_id")}
    assert by_customer[101]["code"].tolist() == ["R03", "R01"]
    assert by_customer[102]["code"].tolist() == ["R04"]
    # 0 days late (the median) or missing cannot be stated as "late repayments"; orders at the
    # median are neither few nor many.
    assert 103 not in by_customer
    without = reason_codes(pushed, values, small_dictionary())            # no reference: main text
    assert without.groupby("customer_id")["code"].first().tolist() == ["R03", "R03", "R03"]


def test_reference_values_are_medians_of_numeric_features(matrix):
    reference = reference_values(matrix[list(FEATURES)])
    assert CITY_TIER not in reference.index
    assert reference[ORDERS] == matrix[ORDERS].median()


@pytest.mark.parametrize("entries,message", [
    ([{**USE, "zh": " "}], r"entries\[0\] \(pattern 'limit__utilisation__\*'\): zh is empty"),
    ([{**USE, "en": None}], "en is empty"),
    ([USE, {**LATE, "code": "R02"}],
     r"R02 has two different texts: reasons.entries\[0\].*entries\[1\] \(pattern 'cures"),
    ([USE, {**THIN, "otherwise": {"code": "R02", "zh": "x", "en": "y"}}],
     "R02 has two different texts"),
    ([{**USE, "code": UNMAPPED}], "reserved"),
    ([{**USE, "direction": "up"}], "direction must be one of"),
    ([{**USE, "colour": "red"}], r"unknown key\(s\) \['colour'\]"),
    ([{**USE, "otherwise": {"code": "R09", "zh": "x", "en": "y"}}], "needs a direction"),
    ([{**USE, "pattern": ""}], "pattern is empty"),
    ([], "non-empty list"),
])
def test_dictionary_is_checked_when_it_loads(entries, message):
    with pytest.raises(ConfigError, match=message):
        ReasonDictionary.from_config({"entries": entries})


def test_the_same_code_may_be_shared_with_the_same_texts():
    dictionary = small_dictionary(LATE, OVERDUE)
    assert set(dictionary.codes()) == {"R01"}


def test_the_jobs_config_node_reads_as_the_plain_yaml_it_came_from():
    """The explain job hands over its composed ``reasons`` node (enum members for directions);
    the stage reads it as the mapping it is, with no config library of its own."""
    from omegaconf import OmegaConf

    from credit_models.explain.reason_codes import Direction

    path = config_dir() / "reasons" / "default.yaml"
    plain = yaml.safe_load(path.read_text(encoding="utf-8"))
    node = OmegaConf.create(plain)
    for entry in node.entries:
        entry.direction = Direction(entry.get("direction") or "any")
    assert ReasonDictionary.from_config(node) == ReasonDictionary.from_file(path)
    assert ReasonDictionary.from_file(path) == ReasonDictionary.default()
    with pytest.raises(ConfigError, match="direction must be one of"):
        ReasonDictionary.from_config(OmegaConf.create({"entries": [{**USE, "direction": "up"}]}))


def _default_spec_features() -> list[str]:
    raw = yaml.safe_load((config_dir() / "features" / "default.yaml").read_text())
    spec = parse_feature_spec(raw)
    customers = simulate_portfolio(SimulatorConfig(n_customers=20)).tables["customers"]
    attributes = [feature_name("customer", column.removeprefix(ATTRIBUTE_PREFIX), "value", None)
                  for column in customers.columns if column.startswith(ATTRIBUTE_PREFIX)]
    return [*spec.feature_names, *attributes]


def test_default_dictionary_maps_every_feature_of_the_default_spec():
    features = _default_spec_features()
    assert len(features) >= 190
    dictionary = ReasonDictionary.default()
    assert unmapped_features(features, dictionary) == []
    assert unmapped_features(features) == []                             # the default by default
    # Every family has its own reason: nothing falls through to the application catch-all but
    # the sensitive attributes, which are never stated.
    fallback = [name for name in features
                if dictionary.entry_for(name).pattern == "customer__*__value"]
    assert fallback == list(SensitiveAttributes.default().features(features)) == [
        "customer__age__value"]
    codes = {dictionary.entry_for(name).text.code for name in features}
    assert len(codes) >= 25
    assert dictionary.entry_for(DAYS_LATE).text.en == "late repayments in recent months"
    assert dictionary.entry_for(CURRENT_DPD).text.zh == "当前有未还清的逾期账单"
    assert dictionary.entry_for("orders__spend_to_limit__ratio__7d").text.en == (
        "a large recent purchase used much of the limit")


def test_scorecard_reasons_are_the_features_with_the_most_points_lost(matrix, scorecard_model):
    inputs = matrix[list(FEATURES)].head(300)
    card = scorecard_model.estimator_
    lost = card.points_lost(inputs)
    long = scorecard_reason_codes(scorecard_model, inputs, ReasonDictionary.default(), top_k=2,
                                  descriptions=DESCRIPTIONS)
    assert (long["unit"] == "points lost").all()
    dictionary = ReasonDictionary.default()
    codes = {name: dictionary.entry_for(name).text.code for name in card.features_}
    assert len(set(codes.values())) == len(codes)      # one code per feature: no merging here
    for position, row_id in enumerate(inputs.index[:100]):
        expected = lost.iloc[position]
        expected = expected[expected > 1e-9].sort_values(ascending=False).head(2)
        got = long[long["row_id"] == row_id]
        assert got["feature"].tolist() == list(expected.index)
        assert np.allclose(got["contribution"], expected.to_numpy())
    assert (long["detail"] != "").all()


def test_reasons_of_a_real_model_raise_the_pd_and_come_from_the_dictionary(matrix, xgb_model):
    inputs = matrix[list(FEATURES)].head(400)
    contributions = model_contributions(xgb_model, inputs)
    long = reason_codes(contributions, inputs, ReasonDictionary.default(), top_k=3,
                        descriptions=DESCRIPTIONS, reference=reference_values(inputs))
    assert (long["contribution"] > 0).all()
    assert long.groupby("row_id")["rank"].max().max() <= 3
    assert UNMAPPED not in set(long["code"])
    assert not long.duplicated(["row_id", "code"]).any()


def test_misaligned_inputs_are_refused():
    pushed, values = frames({DAYS_LATE: [0.9, 0.1]})
    with pytest.raises(ValueError, match="same index"):
        reason_codes(pushed, values.iloc[::-1], small_dictionary())
    with pytest.raises(ValueError, match="lack 1 feature"):
        reason_codes(pushed, values.rename(columns={DAYS_LATE: "x"}), small_dictionary())
    with pytest.raises(ValueError, match="top_k"):
        reason_codes(pushed, values, small_dictionary(), top_k=0)


# ------------------------------------------------------------------ sensitive attributes
AGE = "customer__age__value"
MARRIAGE = "customer__marriage__value"


def test_a_sensitive_attribute_is_never_a_reason_and_the_next_feature_takes_its_rank():
    pushed, values = frames({AGE: [0.9, 0.1], DAYS_LATE: [0.3, 0.4], UTILISATION: [0.2, -0.1],
                             MARRIAGE: [0.05, 0.8]})
    long = reason_codes(pushed, values, small_dictionary(), top_k=2)
    assert long[long["customer_id"] == 101]["feature"].tolist() == [DAYS_LATE, UTILISATION]
    assert long[long["customer_id"] == 102]["feature"].tolist() == [DAYS_LATE]
    assert not long["features"].str.contains("customer__").any()
    # Stated only when the caller says there is nothing sensitive.
    shown = reason_codes(pushed, values, small_dictionary(), top_k=1,
                         sensitive=SensitiveAttributes({}))
    assert shown["feature"].tolist() == [AGE, MARRIAGE]


def test_the_default_sensitive_attributes_cover_the_simulator_and_the_adapters():
    sensitive = SensitiveAttributes.default()
    assert sensitive.features([AGE, MARRIAGE, "customer__age_in_years__value",
                               "customer__sex__value", "customer__foreign_worker__value",
                               "customer__personal_status_and_sex__value", CITY_TIER,
                               "customer__declared_monthly_income__value", DAYS_LATE]) == {
        AGE: "age", MARRIAGE: "marital_status", "customer__age_in_years__value": "age",
        "customer__sex__value": "gender", "customer__foreign_worker__value": "national_origin",
        "customer__personal_status_and_sex__value": "gender"}
    assert sensitive.exclude_from_model is False


@pytest.mark.parametrize("raw,message", [
    ({"sensitive_attributes": {"age": []}}, "non-empty list"),
    ({"sensitive_attributes": {"age": "customer__age__value"}}, "non-empty list"),
    ({"sensitive_attributes": {"age": [" "]}}, "empty pattern"),
    ({"sensitive_attributes": {}, "exclude_from_model": "yes"}, "true or false"),
    ({"sensitive_attribute": {}}, "unknown key"),
])
def test_sensitive_attributes_config_is_checked(raw, message):
    with pytest.raises(ConfigError, match=message):
        SensitiveAttributes.from_config(raw)


@pytest.fixture(scope="module")
def age_weighted(matrix):
    """The explain matrix with an age column that drives defaults as strongly as days late."""
    rng = np.random.default_rng(5)
    frame = matrix.copy()
    frame[AGE] = rng.integers(18, 70, len(frame)).astype("float64")
    young = frame[AGE] < 26
    frame["is_bad"] = frame["is_bad"] | (young & (rng.random(len(frame)) < 0.6))
    return frame


def _fit_with_age(frame, family):
    from credit_models.models.pd_model import PdModel
    from credit_models.models.settings import ModelSettings
    params = ({"n_estimators": 60, "max_depth": 3, "learning_rate": 0.2, "n_jobs": 1}
              if family == "xgboost" else {"selection": "none", "max_features": 8, "n_jobs": 1})
    settings = ModelSettings(name="pd_age", family=family, params=params,
                             early_stopping_rounds=20, calibration="none")
    inputs = frame[[*FEATURES, AGE]]
    dev, valid = frame["split"] == "dev", frame["split"] == "valid"
    return PdModel.from_settings(settings, random_state=7).fit(
        inputs[dev], frame["is_bad"][dev], eval_set=(inputs[valid], frame["is_bad"][valid]))


@pytest.mark.parametrize("family", ["xgboost", "scorecard"])
def test_no_customer_is_told_their_age_even_where_age_weighs_most(age_weighted, family):
    from credit_models.explain.local_explanations import explain_rows
    model = _fit_with_age(age_weighted, family)
    assert AGE in model.feature_names_in_
    rows = age_weighted[age_weighted["split"] == "oot"].head(600)
    inputs = rows[list(model.feature_names_in_)]
    explained = explain_rows(model, inputs, ReasonDictionary.default(), top_k=3,
                             descriptions=DESCRIPTIONS)
    reasons = explained.reasons
    assert len(reasons) > 0
    assert not reasons["features"].str.contains(AGE).any()
    # The property is not vacuous: age is the strongest push for many of these customers, and
    # for each of them reason 1 is the strongest non-sensitive push.
    pushes = (explained.contributions.values if family == "xgboost"
              else model.estimator_.points_lost(inputs))
    age_first = pushes.idxmax(axis=1).eq(AGE) & pushes[AGE].gt(0)
    assert age_first.sum() >= 20
    first = reasons[reasons["rank"] == 1].set_index("row_id")["feature"]
    others = pushes.drop(columns=AGE)
    for row_id in pushes.index[age_first.to_numpy()][:50]:
        if others.loc[row_id].max() > 1e-9:
            assert first[row_id] == others.loc[row_id].idxmax()
