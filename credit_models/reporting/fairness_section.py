"""The fairness section — approval, PD and (for a limit policy) recommended limit by sensitive
group — drawn once for the validation report and the limit report, so the two cannot drift
apart."""

from __future__ import annotations

import numpy as np

from credit_models.evaluation.fairness import (
    FairnessReview,
    approval_ratio_plot,
    limit_ratio_plot,
)
from credit_models.reporting import columns
from credit_models.reporting import html as page

FAIRNESS_HEADING = "Fairness: sensitive attributes"

_COLUMNS = (
    page.Column("attribute", "Attribute", numeric=False),
    page.Column("group", "Group", numeric=False),
    columns.ROWS,
    columns.SHARE,
    page.Column("approval_rate", "Approved", page.percent(1)),
    page.Column("approval_ratio", "Approval ratio", page.number(2)),
    page.Column("four_fifths", "Four-fifths", numeric=False),
    page.Column("mean_pd", "Mean PD", page.percent(2)),
    page.Column("pd_ratio", "PD ratio", page.number(2)),
    columns.BAD_RATE,
)
_LIMIT_COLUMNS = (
    page.Column("mean_limit", "Mean limit", page.amount),
    page.Column("limit_ratio", "Limit ratio", page.number(2)),
)


def fairness_section_body(review: FairnessReview, population: str) -> str:
    """The fairness section's content: how to read it, which attributes are model inputs, the
    table by group and its plots. ``population`` names the rows, e.g. ``"OOT customers"``; a
    review with limits adds the mean limit and limit ratio columns and a limit-ratio plot."""
    cutoff = page.short_percent(review.approval_pd_cutoff)
    has_limits = "limit_ratio" in review.groups
    parts = [page.how(
        f"{population} by each sensitive attribute found in the data. Approved = "
        f"PD below {cutoff}. Approval ratio = the group's approval rate over the most approved "
        "group's; below 0.80 the four-fifths rule flags adverse impact. PD ratio = the group's "
        "mean PD over the lowest group mean PD. "
        + ("Mean limit = the group's mean recommended limit; limit ratio = that over the highest "
           "group mean limit. " if has_limits else "")
        + "Sensitive attributes are never given to a customer as a reason, whether or not the "
        "model uses them."
    )]
    if review.attributes.empty:
        parts.append(page.note(
            "No sensitive attribute is present in the data: nothing to compare."))
    else:
        uses = "; ".join(
            f"{row.attribute} ({row.feature}): "
            + ("a model input" if row.model_input else "not a model input")
            for row in review.attributes.itertuples())
        parts.append(page.headline(f"{uses}."))
        table = review.groups.assign(
            attribute=review.groups["attribute"] + " (" + review.groups["feature"] + ")",
            four_fifths=np.select(
                [review.groups["approval_rate"].isna(), review.groups["adverse_impact"]],
                ["too few to show", "below 0.8"], "ok"))
        shown = _COLUMNS + (_LIMIT_COLUMNS if has_limits else ())
        parts.append(page.table(table, shown, scroll=True))
        figures = [page.figure(
            approval_ratio_plot(review), "Approval ratio by sensitive group",
            "Each group's approval rate over the most approved group's; red bars fall below the "
            "four-fifths line (0.8).")]
        if has_limits:
            figures.append(page.figure(
                limit_ratio_plot(review), "Limit ratio by sensitive group",
                "Each group's mean recommended limit over the highest group mean limit."))
        parts.append(page.pair(*figures) if has_limits else page.single(*figures))
    if review.groups["approval_rate"].isna().any():
        parts.append(page.note(
            "A group too small to show (fairness.min_group_rows) gives its count only, so that "
            "no figure is one customer's; the ratios compare the groups shown."))
    if review.absent:
        parts.append(page.note("Not in the data: " + ", ".join(review.absent) + "."))
    return "".join(parts)
