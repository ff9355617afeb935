"""The validation thresholds: pass / watch / fail per metric, the checks they make of themselves,
and their config group (conf/validation/default.yaml is the dataclass's defaults, and a bad value
on the command line is refused naming its key)."""

from __future__ import annotations

import math

import pytest
import yaml
from hydra.errors import ConfigCompositionException
from omegaconf.errors import OmegaConfBaseException

from credit_models.config.settings import to_settings
from credit_models.errors import ConfigError
from credit_models.evaluation.validation_thresholds import (
    CRITERIA,
    FAIL,
    NOT_MEASURED,
    PASS,
    WATCH,
    ValidationThresholds,
    overall_status,
)
from credit_models.paths import config_dir
from credit_models.workflows.settings import TrainSettings
from credit_models.workflows.structured import settings_from


@pytest.mark.parametrize(("metric", "value", "status"), [
    ("auc", 0.80, PASS), ("auc", 0.70, PASS), ("auc", 0.6999, WATCH), ("auc", 0.65, WATCH),
    ("auc", 0.64, FAIL), ("ks", 0.25, WATCH), ("ece", 0.02, PASS), ("ece", 0.03, WATCH),
    ("ece", 0.05, FAIL), ("psi", 0.26, FAIL), ("auc_drop", -0.01, PASS),
    ("auc_drop", 0.05, WATCH), ("auc", math.nan, NOT_MEASURED),
])
def test_each_metric_is_judged_against_its_levels_the_right_way_round(metric, value, status):
    verdict = ValidationThresholds().verdict({metric: value})
    assert verdict["status"].tolist() == [status]
    assert bool(verdict.loc[0, "higher_is_better"]) is (metric in ("auc", "ks"))


def test_the_levels_come_from_the_thresholds_given():
    """The same values judged against other levels give other statuses."""
    values = {"auc": 0.72, "ks": 0.35, "ece": 0.015, "psi": 0.05, "auc_drop": 0.01}
    assert set(ValidationThresholds().verdict(values)["status"]) == {PASS}
    strict = ValidationThresholds(auc_pass=0.80, auc_watch=0.75, ece_pass=0.01, ece_watch=0.012)
    judged = strict.verdict(values).set_index("metric")
    assert judged.loc["auc", "status"] == FAIL and judged.loc["ece", "status"] == FAIL
    assert judged.loc["auc", "pass_level"] == 0.80 and judged.loc["ece", "watch_level"] == 0.012
    assert list(judged.index) == [criterion.key for criterion in CRITERIA]


@pytest.mark.parametrize(("statuses", "overall"), [
    ([PASS, PASS], PASS), ([PASS, WATCH], WATCH), ([PASS, NOT_MEASURED], WATCH),
    ([WATCH, FAIL, PASS], FAIL), ([], PASS),
])
def test_the_overall_verdict_is_the_worst(statuses, overall):
    assert overall_status(statuses) == overall


@pytest.mark.parametrize(("values", "message"), [
    ({"auc_watch": 0.75}, (r"validation.auc_watch \(0.75\) must be looser than "
                          r"validation.auc_pass \(0.7\): higher is better")),
    ({"ece_pass": 0.05}, (r"validation.ece_watch \(0.04\) must be looser than "
                         r"validation.ece_pass \(0.05\): lower is better")),
    ({"psi_watch": 0.05}, "validation.psi_watch .* must be looser"),
    ({"auc_pass": 1.2}, r"validation.auc_pass must be a number in \[0.5, 1.0\]; got 1.2"),
    ({"ks_watch": -0.1}, r"validation.ks_watch must be a number in \[0.0, 1.0\]"),
    ({"psi_pass": -0.1}, "validation.psi_pass must be a number >= 0.0"),
    ({"ece_pass": True}, "validation.ece_pass must be a number"),
    ({"auc_drop_pass": math.nan}, "validation.auc_drop_pass must be a number"),
    ({"min_test_bads": -1}, "validation.min_test_bads must be an integer >= 0"),
    ({"segment_auc_gap": 0.9}, r"validation.segment_auc_gap must be a number in \[0, 0.5\]"),
])
def test_bad_thresholds_are_refused_naming_the_key(values, message):
    with pytest.raises(ConfigError, match=message):
        ValidationThresholds(**values)


def test_equal_pass_and_watch_levels_are_allowed():
    """No watch band: a metric passes or fails."""
    thresholds = ValidationThresholds(auc_pass=0.7, auc_watch=0.7)
    assert thresholds.verdict({"auc": 0.69})["status"].tolist() == [FAIL]


def test_the_yaml_is_the_dataclass_defaults():
    """conf/validation/default.yaml documents every key, with the defaults of the code."""
    written = yaml.safe_load((config_dir() / "validation" / "default.yaml").read_text())
    assert written == {
        name: getattr(ValidationThresholds(), name)
        for name in ValidationThresholds.__dataclass_fields__
    }


def test_the_training_jobs_carry_the_thresholds_and_take_overrides(compose_config):
    for job in ("train", "tune", "limits"):
        assert to_settings(compose_config(job, [])).validation == ValidationThresholds()
    settings = to_settings(compose_config("train", ["validation.auc_pass=0.8",
                                                    "validation.auc_watch=0.75"]))
    assert settings.validation.levels("auc") == (0.8, 0.75)


def test_a_misspelt_threshold_is_refused_by_the_schema(compose_config):
    with pytest.raises((ConfigCompositionException, OmegaConfBaseException)) as raised:
        compose_config("train", ["validation.auc_pas=0.8"])
    assert "auc_pas" in str(raised.value)


def test_a_broken_threshold_in_the_config_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match="validation.ks_watch .* must be looser"):
        settings_from(TrainSettings, {"validation": {"ks_watch": 0.5}})
