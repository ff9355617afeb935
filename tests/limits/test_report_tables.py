"""The limit report's tables: plain headers, one number format, and why limits stay above target."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from credit_models.reporting.limits_report import (
    guardrail_section,
    guardrail_table,
    header,
    limit_report,
    table_section,
)


def _cells(html: str) -> list[str]:
    return re.findall(r"<td[^>]*>([^<]*)</td>", html)


def test_counts_are_integers_amounts_have_separators_and_nothing_is_scientific():
    stress = pd.DataFrame({
        "pd_multiplier": [1.0, 1.5, 2.5],
        "mean_pd": [0.0944, 0.1376, 0.2021],
        "expected_loss": [1.591683e+06, 2.265751e+06, 3.341863e+06],
        "cuts": [28.0, 743.0, 2302.0],
        "cut_share": [0.0128, 0.3399, 0.4854],
    }, index=pd.Index(["baseline", "mild_downturn", "severe_downturn"], name="scenario"))
    body = table_section(stress, "How to read it.")
    cells = _cells(body)

    assert "2,302" in cells and "2,302.0" not in body and "28" in cells
    assert "1,591,683" in cells and not re.search(r"\de[+-]\d", body)
    assert "20.21%" in cells and "48.54%" in cells and "2.50" in cells
    assert ">Scenario<" in body and ">Expected loss<" in body and ">PD multiplier<" in body
    assert "_" not in "".join(re.findall(r"<th[^>]*>([^<]*)</th>", body))


def test_a_column_every_row_shares_is_said_once_instead_of_widening_the_table():
    backtest = pd.DataFrame({"customers": [2186.0] * 3, "approval_rate": [1.0] * 3,
                             "average_limit": [8955.02, 8955.02, 8125.78],
                             "declined_order_rate/618": [0.0391, 0.0819, 0.0374]},
                            index=pd.Index(["current", "current_held", "policy"], name="policy"))
    body = table_section(backtest)
    assert "In every row: Customers: 2,186; Approval rate: 100.00%." in body
    assert ">Customers<" not in body and ">Declined order rate (618)<" in body
    assert "8,955" in _cells(body)


def test_headers_are_plain_words():
    assert header("new_limit_mean") == "After review (mean)"
    assert header("current_limit_p90") == "Current limit p90"
    assert header("capital_at_risk_mean") == "Capital at risk (mean)"
    assert header("mean_pd") == "Mean PD"
    assert header("ead") == "EAD"
    assert header("declined_order_rate/double_11") == "Declined order rate (double 11)"


def _decisions() -> pd.DataFrame:
    rows = [("A", 10_000, 10_000, ""), ("A", 9_000, 9_000, ""),
            ("E", 0, 4_000, "utilisation_protection"), ("E", 0, 5_000, "utilisation_protection"),
            ("E", 200, 3_000, "max_cut_share"), ("E", 500, 500, "")]
    return pd.DataFrame(rows, columns=["pd_band", "target_limit", "new_limit", "review_guardrail"])


def test_the_guardrail_that_kept_a_limit_above_target_is_counted_and_named():
    table = guardrail_table(_decisions())
    assert table.loc["E", "above_target"] == 3 and table.loc["A", "above_target"] == 0
    assert table.loc["E", "utilisation_protection"] == 2 and table.loc["E", "max_cut_share"] == 1
    assert "floor" not in table.columns                  # only guardrails that held a limit

    heading, body = guardrail_section(_decisions())
    page = limit_report("Credit-limit policy", {"snapshot": "2024-01-01"}, [(heading, body)])
    assert "Band E: target 175 on average, 3,125 after the review; 3 of 4 customers kept above " \
           "their target, held by: utilisation protection 2, max cut per review 1." in page
    assert ">Utilisation protection<" in page and ">Max cut per review<" in page
    assert "white-space: normal" in page                 # numeric headers wrap to fit the page


def test_decisions_without_the_review_guardrail_are_refused():
    decisions = _decisions().drop(columns="review_guardrail")
    try:
        guardrail_table(decisions)
    except ValueError as error:
        assert "review_guardrail" in str(error)
    else:
        raise AssertionError("no error")
    assert np.isfinite(guardrail_table(_decisions()).to_numpy(dtype=float)).all()
