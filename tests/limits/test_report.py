"""The limit report's fairness section: the validation report's rendering, with the limits."""

from __future__ import annotations

from credit_models.evaluation.fairness import fairness_review
from credit_models.reporting.limits_report import fairness_section, limit_report
from tests.evaluation.test_fairness import AGE, MARRIAGE, SENSITIVE, sample


def test_fairness_section_shows_approval_and_limit_by_sensitive_group():
    features, probability, is_bad, limit = sample()
    review = fairness_review(probability, features, SENSITIVE, model_inputs=[MARRIAGE],
                             approval_pd_cutoff=0.10, age_bands=[25, 35, 60],
                             is_bad=is_bad, limit=limit)
    heading, body = fairness_section(review, "The policy's 10 customers at 2024-01-01")
    page = limit_report("Credit-limit policy", {"snapshot": "2024-01-01"}, [(heading, body)])

    assert "<h2>Fairness: sensitive attributes</h2>" in page
    assert "The policy&#x27;s 10 customers at 2024-01-01 by each sensitive attribute" in body
    assert f"age ({AGE}): not a model input" in body
    assert f"marital_status ({MARRIAGE}): a model input" in body
    assert "Mean limit" in body and "Limit ratio" in body
    # < 25: mean limit 250 over the 60+ band's 4,000 → 0.06; 60+ → 4,000 and 1.00.
    row = body[body.index("&lt; 25"):]
    row = row[:row.index("</tr>")]
    assert ">250<" in row and ">0.06<" in row and "below 0.8" in row
    assert ">4,000<" in body
    assert body.count("<img") == 2        # approval ratio and limit ratio plots
    assert "Not in the data: gender." in body
