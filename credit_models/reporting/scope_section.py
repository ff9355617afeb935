"""The validation report's opening sections, what a validation document states before any
evidence: its purpose and scope, and the data and label definition (where the rows come from,
what "bad" means, and how the rows are split and used)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from credit_models.reporting import columns
from credit_models.reporting import html as page
from credit_models.split.names import (
    CALIBRATION,
    DEVELOPMENT,
    OUT_OF_TIME,
    SPLIT_ORDER,
    TEST,
    UNUSED,
    VALIDATION,
)

SPLIT_USES = {
    DEVELOPMENT: "fitting the model and choosing its features",
    VALIDATION: "early stopping and model choice",
    CALIBRATION: "fitting the calibrator",
    OUT_OF_TIME: "the verdict: later months, unseen in development",
    TEST: "the verdict: held-out customers",
}
"""What each split is for, as the data section says it."""

LABEL_STATUS_TEXT = {
    "labelled": "labelled",
    "excluded_already_bad": "already bad at the snapshot",
    "excluded_incomplete_window": "performance window not complete by the data's end",
    "excluded_inactive": "inactive (no credit in use)",
    "excluded_indeterminate": "indeterminate (neither good nor bad)",
}
"""Label statuses (:data:`credit_models.labels.default_label.LABEL_STATUSES`) in words."""


def _split_key(name: str) -> tuple[int, str]:
    return (SPLIT_ORDER.index(name) if name in SPLIT_ORDER else len(SPLIT_ORDER), name)


def split_periods(scored: pd.DataFrame) -> pd.DataFrame:
    """One row per split of ``scored`` (``split``, ``as_of``, ``is_bad``; no ``unused`` rows)
    in :data:`SPLIT_ORDER`: first and last snapshot, months, rows, share, bads and bad rate."""
    rows = []
    for name, part in scored.groupby("split", sort=False):
        rows.append({
            "split": str(name), "use": SPLIT_USES.get(str(name), ""),
            "first": part["as_of"].min(), "last": part["as_of"].max(),
            "months": part["as_of"].dt.strftime("%Y-%m").nunique(),
            "rows": len(part), "share": len(part) / len(scored),
            "bads": int(part["is_bad"].sum()), "bad_rate": float(part["is_bad"].mean()),
        })
    table = pd.DataFrame(rows)
    return table.iloc[sorted(range(len(table)), key=lambda i: _split_key(table["split"][i]))]


def purpose_section_body(*, model_name: str, label_definition: str, data_source: str,
                         periods: pd.DataFrame, test_split: str, split_name: str,
                         reference_split: str, extras: tuple[str, ...] = ()) -> str:
    """Why the report exists and what it covers: the model, the outcome it predicts, the data,
    the sample the verdict is judged on, what is covered and what is not. ``extras`` name the
    optional evidence shown (e.g. ``"benchmark models"``)."""
    test = periods.set_index("split").loc[test_split]
    covered = ["ranking power (AUC, Gini, KS)", "calibration (ECE, reliability, PD bands)",
               "stability (PSI of the score, CSI of the features)",
               "performance by month and by segment", *extras]
    return "".join((
        page.how("What this document is for and where its conclusions stop."),
        page.paragraph(
            f"Purpose: to establish whether the probability-of-default model {model_name} is fit "
            "for use — whether it ranks customers by risk, whether its PD can be read as a "
            "probability, whether it holds on months and customers it was not developed on and "
            "in each segment — and to state its limitations, against thresholds fixed in "
            "advance."
        ),
        page.fact_list([
            f"Model: {model_name}.",
            f"Outcome predicted: {label_definition}.",
            (f"Data: {data_source}, snapshots {page.month(periods['first'].min())} to "
            f"{page.month(periods['last'].max())}."),
            (f"Judged on: the {split_name} sample, {int(test['rows']):,} rows "
            f"({int(test['bads']):,} bads) from {page.month(test['first'])} to "
            f"{page.month(test['last'])}; stability is measured from {reference_split}."),
            "Covered: " + "; ".join(covered) + ".",
            ("Not covered: the decisions taken with the PD (approval cut-offs, limits, "
            "pricing), data quality upstream of the data contract's checks, and the model's "
            "behaviour once in use (monitoring)."),
        ]),
    ))


_PERIOD_COLUMNS = (
    page.Column("split", "Split", numeric=False),
    page.Column("use", "Used for", numeric=False),
    page.Column("first", "First snapshot", page.month),
    page.Column("last", "Last snapshot", page.month),
    page.Column("months", "Months", page.count),
    columns.ROWS,
    columns.SHARE,
    columns.BADS,
    columns.BAD_RATE,
)


def data_section_body(*, label_definition: str, data_source: str, periods: pd.DataFrame,
                      label_statuses: Mapping[str, int], unused_rows: int) -> str:
    """Where the rows come from, what "bad" means, which snapshots could be labelled, and each
    split's months, rows and bads (the ``unused`` rows counted in a note)."""
    facts = [
        f"Data source: {data_source}.",
        f"Label: {label_definition}; one row per customer and snapshot date (as_of).",
        (f"Snapshots: {page.month(periods['first'].min())} to "
        f"{page.month(periods['last'].max())}, {int(periods['rows'].sum()):,} labelled rows, "
        f"{int(periods['bads'].sum()):,} bads "
        f"({periods['bads'].sum() / periods['rows'].sum():.2%})."),
    ]
    if label_statuses:
        total = sum(int(count) for count in label_statuses.values())
        labelled = int(label_statuses.get("labelled", 0))
        left_out = [f"{LABEL_STATUS_TEXT.get(status, status.replace('_', ' '))} {int(count):,}"
                    for status, count in label_statuses.items()
                    if status != "labelled" and int(count) > 0]
        facts.append(
            f"Labelled: {labelled:,} of {total:,} customer snapshots"
            + ("; left out: " + ", ".join(left_out) if left_out else "") + "."
        )
    parts = [
        page.how(
            "Where the rows come from, what bad means, and how the labelled rows are split: "
            "each split's snapshot months, rows, bads and bad rate, and what it is used for."
        ),
        page.fact_list(facts),
        page.table(periods, _PERIOD_COLUMNS),
    ]
    if unused_rows:
        parts.append(page.note(
            f"{UNUSED}: {unused_rows:,} rows grouped out of every period (customers whose other "
            "rows belong to another split), left out of this report."
        ))
    return "".join(parts)
