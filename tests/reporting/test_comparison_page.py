"""The comparison page: the decision stated first, in the reports' page kit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_models.reporting.comparison_report import (
    comparison_figure,
    comparison_html,
    decision_lines,
)
from credit_models.workflows.comparison import (
    CHALLENGER,
    CHAMPION,
    ComparedRows,
    Comparison,
    Contender,
    comparison_table,
)
from credit_models.workflows.promotion import GateDecision, GateRule


def _comparison() -> Comparison:
    rng = np.random.default_rng(3)
    is_bad = rng.random(400) < 0.2
    probability = {CHAMPION: np.clip(0.2 + 0.3 * is_bad + rng.normal(0, 0.15, 400), 0.01, 0.99),
                   CHALLENGER: np.clip(0.2 + 0.2 * is_bad + rng.normal(0, 0.15, 400), 0.01, 0.99)}
    table = comparison_table(
        {"rows": 400, "bads": 80, "auc": 0.81, "ks": 0.45, "ece": 0.012},
        {"rows": 400, "bads": 80, "auc": 0.7932, "ks": 0.43, "ece": 0.031})
    rows = ComparedRows(pd.DataFrame({"is_bad": is_bad}), "oot rows of run abc")
    return Comparison("pd_xgb", Contender(CHAMPION, "pd_xgb", "3", None, None, {}),
                      Contender(CHALLENGER, "pd_xgb", "4", None, None, {}), rows, probability,
                      table, None)


RULES = [GateRule("auc_gain", "challenger AUC − champion AUC", -0.0168, "≥", 0.0, False),
         GateRule("ece_increase", "challenger ECE − champion ECE", 0.019, "≤", 0.005, False),
         GateRule("ks_drop", "champion KS − challenger KS", 0.02, "≤", 0.03, True)]


@pytest.fixture(scope="module")
def comparison() -> Comparison:
    return _comparison()


def test_a_rejection_is_stated_first_with_the_failed_rules_and_their_values(comparison):
    decision = GateDecision(RULES, comparison, False, "gate failed against version 3: …", False)
    page = comparison_html(comparison, comparison_figure(comparison), decision=decision)

    verdict = page.index('<p class="verdict">')
    assert "Rejected: challenger (version 4) is not promoted" in page[verdict:verdict + 200]
    assert verdict < page.index("<h2>")                    # before every section
    why = page[verdict:page.index("</div>", verdict)]
    assert "2 of 3 gate rules failed" in why
    assert "auc_gain (challenger AUC − champion AUC = -0.0168, must be ≥ 0)" in why
    assert "ece_increase" in why and "ks_drop" not in why
    # The gate table lists the failed rules first, with badges from the page kit.
    gate = page[page.index('<section id="gate">'):]
    assert gate.index("auc_gain") < gate.index("ks_drop")
    assert 'class="badge alert"' in gate and "<table><thead>" in gate
    assert "font: 14px/1.5" in page                        # the shared stylesheet


def test_a_promotion_and_a_plain_comparison_say_so(comparison):
    passed = [GateRule(rule.rule, rule.description, rule.value, rule.comparison, rule.threshold,
                       True) for rule in RULES]
    verdict, lines = decision_lines(comparison, GateDecision(passed, comparison, True, "", False))
    assert verdict == "promoted"
    assert lines[0] == "Promoted: challenger (version 4) becomes the champion"
    assert "Every one of the 3 gate rules passed." in lines

    verdict, lines = decision_lines(comparison, None)
    assert verdict == "compared" and lines[0].startswith("Compared only, no promotion decision")
    assert "AUC 0.7932 against 0.8100 (-0.0168)" in lines[1]
