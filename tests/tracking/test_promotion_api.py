"""The registry's comparison and promotion as a notebook calls them (``cm.compare_version``,
``cm.promote_version``): the same functions the compare and promote jobs run, on the settings
``cm.load_settings`` composes."""

from __future__ import annotations

import pytest

import credit_models as cm
from credit_models.config import registry_runs
from credit_models.jobs import compare as compare_job
from credit_models.jobs import promote as promote_job
from credit_models.tracking.comparison_run import NoChampionError
from credit_models.tracking.model_loading import connect
from credit_models.tracking.registry import aliases
from tests.registry_store import NAME


@pytest.fixture
def store(tiny_registry) -> list[str]:
    """The override that points a job's settings at a fresh copy of the tiny registry."""
    return [f"mlflow.tracking_uri={tiny_registry.tracking_uri}"]


def test_the_public_names_are_the_functions_the_jobs_run(monkeypatch):
    assert cm.promote_version is registry_runs.promote_version
    assert cm.compare_version is registry_runs.compare_version
    monkeypatch.setattr(registry_runs, "promote_version", lambda settings: ("promoted", settings))
    monkeypatch.setattr(registry_runs, "compare_version", lambda settings: ("compared", settings))
    assert promote_job.run_promotion("settings") == ("promoted", "settings")
    assert compare_job.run_comparison("settings") == ("compared", "settings")


def test_a_first_champion_is_forced_and_a_second_call_changes_nothing(store):
    settings = cm.load_settings("promote", [*store, "challenger=1", "force=true",
                                            "force_reason=the model in production"])
    first = cm.promote_version(settings)
    assert (first.decision, first.exit_code, first.champion) == ("promoted", 0, None)
    assert first.gate_table().empty and "passed" in first.gate_table().columns
    client = connect(settings.mlflow.tracking_uri)
    assert aliases(client, NAME)["champion"] == "1"
    tags = client.get_model_version(NAME, "1").tags
    assert tags["promotion_reason"].endswith("the model in production")
    assert tags["gate"].startswith("not run")

    again = cm.promote_version(settings)
    assert (again.decision, again.exit_code, again.run_id) == ("unchanged", 0, None)
    assert again.gate_table().empty


def test_without_a_champion_there_is_nothing_to_compare(store):
    with pytest.raises(NoChampionError, match="force=true"):
        cm.compare_version(cm.load_settings("compare", [*store, "challenger=3"]))
    with pytest.raises(NoChampionError):
        cm.promote_version(cm.load_settings("promote", [*store, "challenger=3"]))
