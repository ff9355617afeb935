from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from credit_models.features.spec import parse_feature_spec
from credit_models.paths import config_dir

GROUPS = ["data", "features", "labels", "selection", "split", "model", "mlflow", "validation"]


def _options(group: str) -> list[str]:
    return sorted(path.stem for path in (config_dir() / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "group,option", [(group, option) for group in GROUPS for option in _options(group)]
)
def test_every_config_option_composes_against_the_schema(compose_config, group, option):
    overrides = [f"{group}={option}"]
    if group == "data" and option != "simulated":
        overrides += ["data.path=/tmp/x", "data.source_file=/tmp/x.csv"]
    config = compose_config("train", overrides)
    assert config[group] is not None
    if group == "features":
        spec = parse_feature_spec(OmegaConf.to_container(config.features, resolve=True))
        assert len(spec.feature_names) >= 150


def test_data_job_config_composes(compose_config):
    config = compose_config("data_job", ["action=validate"])
    assert config.action.value == "validate"
    assert config.data.simulator.seed == config.seed


def test_misspelt_key_is_rejected_with_its_name(compose_config):
    with pytest.raises((ConfigCompositionException, OmegaConfBaseException)) as raised:
        compose_config("train", ["labels.bad_days_pastdue=60"])
    assert "bad_days_pastdue" in str(raised.value)


def test_wrong_choice_lists_the_valid_ones(compose_config):
    with pytest.raises((ConfigCompositionException, OmegaConfBaseException)) as raised:
        compose_config("train", ["data.source=excel"])
    message = f"{raised.value} {raised.value.__cause__}"
    assert "excel" in message and "simulator" in message and "parquet" in message


def test_wrong_type_is_rejected(compose_config):
    with pytest.raises((ConfigCompositionException, OmegaConfBaseException)):
        compose_config("train", ["split.oot_months=three"])


def test_a_data_sets_model_preset_applies_to_its_model_family_only(compose_config):
    """conf/model_for_data/german_credit_xgb_pd.yaml: XGBoost's settings for German credit,
    never merged into the scorecard's parameters; the command line still wins."""
    preset = compose_config("train", ["data=german_credit", "model=xgb_pd"]).model
    assert preset.early_stopping_rounds is None and preset.params.max_depth == 3
    assert preset.params.n_estimators == 300 and preset.params.tree_method == "hist"
    scorecard = compose_config("train", ["data=german_credit", "model=scorecard"]).model
    plain = compose_config("train", ["model=scorecard"]).model
    assert scorecard == plain
    assert compose_config("train", ["model=xgb_pd"]).model.params.max_depth == 4
    chosen = compose_config("train", ["data=german_credit", "model.params.max_depth=5"]).model
    assert chosen.params.max_depth == 5 and chosen.params.learning_rate == 0.03
