"""Settings are defined once (the stages' classes are the Hydra schema) and checked once, when a
job's composed config becomes them: before any data are read, as one line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from credit_models.config.settings import to_settings
from credit_models.errors import ConfigError
from credit_models.features.sensitive import FairnessSettings
from credit_models.jobs import train as train_job
from credit_models.labels.default_label import DefaultDefinition, LabelSource
from credit_models.models.settings import CalibrationMethod, ModelFamily, ModelSettings
from credit_models.models.xgb_pd import DEFAULT_PARAMS
from credit_models.paths import config_dir
from credit_models.split.factory import SplitKind, SplitSettings
from credit_models.split.out_of_time import OutOfTimeSplit
from credit_models.workflows import pd_training
from credit_models.workflows.settings import LimitsSettings, TrainSettings, TuneSettings
from credit_models.workflows.structured import settings_from


def no_data(tmp_path: Path, *extra: str) -> list[str]:
    """A data set that does not exist, and a store of the test's own."""
    return ["data=parquet", f"data.path={tmp_path / 'no_such_portfolio'}",
            f"mlflow.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}", *extra]


def one_error_line(capsys) -> str:
    error = capsys.readouterr().err
    assert "Traceback" not in error, error
    lines = [line for line in error.strip().splitlines() if " INFO mlflow." not in line]
    assert len(lines) == 1 and lines[0].startswith("credit-models-train: error: "), error
    return lines[0]


@pytest.fixture
def no_data_read(monkeypatch) -> None:
    """Fail the test if the job gets as far as assembling training data."""
    def refuse(*args, **kwargs):
        raise AssertionError("training data were assembled before the settings were checked")

    monkeypatch.setattr(pd_training, "assemble_training_data", refuse)


# ---- the job: model.params checked before any data are read --------------------------------


@pytest.mark.parametrize("override", ["+model.params.max_dept=6", "model.params.max_dept=6"])
def test_a_misspelt_model_param_exits_2_with_the_close_names(compose_config, tmp_path, capsys,
                                                              no_data_read, override):
    cfg = compose_config("train", no_data(tmp_path, override))
    assert train_job.main.run(cfg)[0] == 2
    message = one_error_line(capsys)
    assert "model.params.max_dept is not a parameter of xgboost.XGBClassifier" in message
    assert "did you mean max_depth" in message


def test_a_model_param_of_the_wrong_type_exits_2_naming_key_value_and_type(
    compose_config, tmp_path, capsys, no_data_read
):
    cfg = compose_config("train", no_data(tmp_path, "model.params.max_depth=six"))
    assert train_job.main.run(cfg)[0] == 2
    assert "model.params.max_depth must be int or null; got 'six' (str)" in one_error_line(capsys)


def test_a_scorecard_param_is_checked_against_the_scorecard(compose_config, tmp_path, capsys,
                                                            no_data_read):
    cfg = compose_config("train", no_data(tmp_path, "model=scorecard",
                                          "+model.params.max_featurs=5"))
    assert train_job.main.run(cfg)[0] == 2
    message = one_error_line(capsys)
    assert "model.params.max_featurs is not a parameter of WoeScorecard" in message
    assert "did you mean max_features" in message


def test_a_calibrated_model_without_a_calibration_split_exits_2(compose_config, tmp_path, capsys,
                                                                 no_data_read):
    cfg = compose_config("train", no_data(tmp_path, "split.calibration_share=0"))
    assert train_job.main.run(cfg)[0] == 2
    assert "model.calibration=auto needs a calibration split" in one_error_line(capsys)


def test_a_broken_selection_setting_exits_2_naming_its_key(compose_config, tmp_path, capsys,
                                                            no_data_read):
    cfg = compose_config("train", no_data(tmp_path, "selection.max_missing_rate=1.5"))
    assert train_job.main.run(cfg)[0] == 2
    assert "selection.max_missing_rate must be in [0, 1]; got 1.5" in one_error_line(capsys)


# ---- composing: the settings classes are the schema, and YAML and overrides merge into them ---


@pytest.mark.parametrize("job, settings_class", [
    ("train", TrainSettings), ("tune", TuneSettings), ("limits", LimitsSettings),
])
def test_each_training_job_config_becomes_its_settings(compose_config, job, settings_class):
    settings = to_settings(compose_config(job, []))
    assert type(settings) is settings_class
    assert settings.model.family is ModelFamily.xgboost
    assert settings.labels.source is LabelSource.events


def test_overrides_merge_into_the_frozen_settings_classes(compose_config):
    settings = to_settings(compose_config("train", [
        "model.params.max_depth=6", "labels=dpd60_12m", "split=stratified",
        "model.calibration=platt", "fairness.min_group_rows=20",
    ]))
    assert settings.model.params["max_depth"] == 6
    assert settings.model.calibration is CalibrationMethod.platt
    assert settings.labels.bad_days_past_due == 60
    assert settings.split.kind is SplitKind.stratified
    assert settings.fairness.min_group_rows == 20
    with pytest.raises(AttributeError):
        settings.model.name = "other"        # built once, then fixed


def test_the_splitter_is_built_once_with_the_settings(compose_config):
    settings = to_settings(compose_config("train", ["split.holdout=months", "split.valid_months=3"]))
    assert isinstance(settings.splitter, OutOfTimeSplit)
    assert settings.splitter.valid_months == 3
    assert settings.splitter is settings.splitter


def test_the_xgboost_defaults_live_in_the_code_and_the_yaml_only_adds_to_them(compose_config):
    raw = yaml.safe_load((config_dir() / "model" / "xgb_pd.yaml").read_text(encoding="utf-8"))
    assert not set(raw["params"]) & set(DEFAULT_PARAMS)
    params = to_settings(compose_config("train", [])).model.params
    assert {key: params[key] for key in DEFAULT_PARAMS} == DEFAULT_PARAMS
    assert to_settings(compose_config("train", ["model.params.max_depth=6"])
                       ).model.estimator_params["max_depth"] == 6
    scorecard = to_settings(compose_config("train", ["model=scorecard"])).model
    assert not set(scorecard.params) & {"n_estimators", "tree_method", "eval_metric"}


def test_a_logged_build_is_rebuilt_through_the_same_classes():
    settings = settings_from(TrainSettings, {"seed": 3, "split": {"kind": "stratified"},
                                             "labels": {"bad_days_past_due": 90}})
    assert settings.seed == 3 and settings.splitter.seed == 3
    assert settings.labels.name == "dpd90_6m"
    with pytest.raises(ConfigError, match="labels.bad_days_past_due must be >= 1"):
        settings_from(TrainSettings, {"labels": {"bad_days_past_due": 0}})


# ---- the settings classes check themselves ---------------------------------------------------


@pytest.mark.parametrize("values, problem", [
    ({"family": "boosting"}, r"model.family must be one of \['xgboost', 'scorecard'\]"),
    ({"calibration": "beta"}, r"model.calibration must be one of \['isotonic', 'platt', 'auto', 'none'\]"),
    ({"params": {"learning_rate": -0.1}}, r"model.params.learning_rate must be in \(0, 1\]"),
    ({"params": {"n_estimators": 10.5}}, r"model.params.n_estimators must be int; got 10.5"),
    ({"params": {"random_state": 1}}, r"model.params.random_state is set by seed"),
    ({"params": {"early_stopping_rounds": 5}}, r"is set by model.early_stopping_rounds"),
    ({"params": {"max_dept": 6, "subsample": "most"}},
     r"max_dept is not a parameter.*; model.params.subsample must be float or null"),
    ({"early_stopping_rounds": 0}, r"model.early_stopping_rounds must be at least 1"),
    ({"pd_floor": 1.5}, r"model.pd_floor must be in \[0, 1\)"),
    ({"monotone_constraints": {"x*": 2}}, r"model.monotone_constraints\['x\*'\] must be one of"),
    ({"score": {"pdo": -1}}, r"model.score.pdo must be a finite number > 0"),
    ({"score": {"base_scor": 600}}, r"model.score.base_scor is not a parameter.*base_score"),
    ({"family": "scorecard", "class_weight": "balanced"}, r"applies to the xgboost family only"),
    ({"family": "scorecard", "params": {"pdo": 30}}, r"model.params.pdo is set by model.score"),
    ({"family": "scorecard", "params": {"min_iv": "high"}}, r"model.params.min_iv must be float"),
])
def test_model_settings_refuse_a_broken_value_naming_the_key(values, problem):
    with pytest.raises(ConfigError, match=problem):
        ModelSettings(**values)


def test_model_settings_accept_text_for_their_choices_and_keep_members():
    settings = ModelSettings(family="scorecard", calibration="none",
                             params={"max_features": 10, "n_jobs": None, "C": 1})
    assert settings.family is ModelFamily.scorecard
    assert settings.calibration is CalibrationMethod.none
    assert settings.estimator_params == {"max_features": 10, "n_jobs": None, "C": 1}


def test_split_settings_refuse_a_field_their_kind_does_not_take():
    with pytest.raises(ConfigError, match=r"split.kind=stratified does not take \['valid_months'\]"):
        SplitSettings(kind="stratified", valid_months=2)
    with pytest.raises(ConfigError, match="split.kind must be one of"):
        SplitSettings(kind="random")
    with pytest.raises(ConfigError, match="split.holdout_share must be in"):
        SplitSettings(holdout="months", holdout_share=1.0).build(seed=1)


def test_labels_check_their_source_and_capacity_target():
    with pytest.raises(ConfigError, match=r"labels.source must be one of \['events', 'table'\]"):
        DefaultDefinition(source="file")
    assert DefaultDefinition(source="table").source is LabelSource.table
    with pytest.raises(ConfigError, match="labels.capacity.months must be >= 1"):
        settings_from(TrainSettings, {"labels": {"capacity": {"months": 0}}})


@pytest.mark.parametrize("values, problem", [
    ({"sensitive_attributes": {"age": []}}, "fairness.sensitive_attributes.age must be a non-empty"),
    ({"sensitive_attributes": {"age": [" "]}}, "has an empty pattern"),
    ({"approval_pd_cutoff": 1.5}, r"fairness.approval_pd_cutoff must be in \(0, 1\)"),
    ({"age_bands": [35, 25]}, "fairness.age_bands must be increasing"),
    ({"min_group_rows": 0}, "fairness.min_group_rows must be at least 1"),
])
def test_fairness_settings_refuse_a_broken_value_naming_the_key(values, problem):
    with pytest.raises(ConfigError, match=problem):
        FairnessSettings(**values)


def test_fairness_settings_give_the_sensitive_attributes():
    sensitive = FairnessSettings(sensitive_attributes={"age": ["customer__age*"]},
                                 exclude_from_model=True).sensitive
    assert sensitive.features(["customer__age__value", "x"]) == {"customer__age__value": "age"}
    assert sensitive.exclude_from_model


def test_a_split_logged_before_holdout_existed_rebuilds_the_rows_it_made():
    from credit_models.workflows.training_rows import logged_split
    logged = {"kind": "out_of_time", "valid_months": 2, "calibration_months": 2,
              "oot_months": 3, "group_customers": True, "holdout_share": 0.3, "cv_folds": 0}
    with pytest.raises(ConfigError, match="valid_months"):
        SplitSettings(**logged).build(seed=7)            # today's default holdout is customers
    splitter = SplitSettings(**logged_split(logged)).build(seed=7)
    assert splitter.holdout.value == "months" and splitter.group_customers is True
    stratified = {"kind": "stratified", "cv_folds": 5}
    assert logged_split(stratified) == stratified
