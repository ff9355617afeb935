"""How often each reason code is a top reason, with its texts."""

from __future__ import annotations

import pandas as pd
import pytest

from credit_models.explain.reason_codes import ReasonText
from credit_models.explain.reason_frequency import reason_frequencies


def test_each_code_is_counted_once_per_customer_and_as_first_reason():
    reasons = pd.DataFrame({
        "reason_1_code": ["R01", "R02", "R01", None],
        "reason_1_en": ["late", "high use", "late", None],
        "reason_2_code": ["R02", "R02", "R03", None],      # R02 twice for one customer
        "reason_2_en": ["high use", "high use", "unmapped thing", None],
    })
    table = reason_frequencies(reasons, {"R01": ReasonText("R01", "近期有逾期", "late repayments"),
                                         "R02": ReasonText("R02", "额度使用率高", "high use")})
    table = table.set_index("code")

    assert table.loc["R02", "any_reason"] == 2 and table.loc["R02", "first_reason"] == 1
    assert table.loc["R01", "any_reason"] == 2 and table.loc["R01", "first_reason"] == 2
    assert table.loc["R03", "any_reason"] == 1 and table.loc["R03", "first_reason"] == 0
    assert table.loc["R01", "any_share"] == pytest.approx(0.5)         # of all 4 customers
    assert table.loc["R01", "text_zh"] == "近期有逾期"                      # from the dictionary
    assert table.loc["R03", "text_en"] == "unmapped thing"                # from the table itself
    assert list(table.index) == ["R01", "R02", "R03"]                    # most frequent first


def test_a_table_without_reason_codes_is_refused():
    with pytest.raises(ValueError, match="reason_<k>_code"):
        reason_frequencies(pd.DataFrame({"pd": [0.1]}))
