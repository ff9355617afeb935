"""German credit (Statlog, 1,000 applications) → the event-data contract.

Application attributes only, with a good/bad outcome: one customer per row (ids 1..1000 in row
order), every attribute as ``attr_<column>`` except the personal ones left out on purpose, and the
outcome in the ``labels`` table. The event tables (orders, bills, repayments, limit_events) are not
written: beside ``labels`` they may be left out, and reading gives them as empty tables with the
contract's dtypes. This data set supports application-score (A-score) models only. See
``data/adapters.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from credit_models.data.adapters.common import (
    AdaptedDataset,
    SourceDataError,
    attribute_name,
    contract_frame,
    percent,
    read_source_csv,
)
from credit_models.data.io import DatasetManifest

SOURCE_NAME = "german_credit"
SIGNED_UP_AT = pd.Timestamp("1994-01-01", tz="UTC")
"""Placeholder application date, the same for every customer (the source has no dates)."""
AS_OF = pd.Timestamp("1994-02-01", tz="UTC")
"""Placeholder snapshot date of the outcome: a month start after the application date, so that
every customer is a snapshot (signed up strictly before as_of). Also the extraction date."""
LABEL_COLUMN = "creditability"
LABEL_VALUES = {"good": False, "bad": True}
LEFT_OUT = {
    "personal_status_and_sex":
        "sex combined with marital status: protected characteristics a credit model should not "
        "use (and the source merges them, so neither can be kept alone)",
    "foreign_worker":
        "national origin: a protected characteristic a credit model should not use",
}
"""Source columns deliberately not carried over, with the reason."""
ABSENT_TABLES = ("orders", "bills", "repayments", "limit_events")
"""Event tables the source has nothing for: left out, read back as empty."""


def convert_german_credit(source_csv: str | Path) -> AdaptedDataset:
    """Convert the German credit CSV into contract tables, manifest and report."""
    path = Path(source_csv)
    source = read_source_csv(path, [LABEL_COLUMN, *LEFT_OUT])
    outcome = source[LABEL_COLUMN]
    unknown = ~outcome.isin(list(LABEL_VALUES))
    if unknown.any():
        values = sorted(outcome[unknown].astype(str).unique())[:5]
        raise SourceDataError(
            f"{path.name}: {LABEL_COLUMN} must be one of {list(LABEL_VALUES)}; "
            f"{int(unknown.sum()):,} row(s) hold {values}"
        )
    n_customers = len(source)
    customer_ids = np.arange(1, n_customers + 1, dtype=np.int64)

    kept = [c for c in source.columns if c != LABEL_COLUMN and c not in LEFT_OUT]
    attributes: dict[str, pd.Series] = {}
    for column in kept:
        name = attribute_name(column)
        if name in attributes:
            raise SourceDataError(f"{path.name}: columns give the same attribute name {name}")
        attributes[name] = source[column].reset_index(drop=True)
    customers = contract_frame("customers", {
        "customer_id": customer_ids,
        "signed_up_at": [SIGNED_UP_AT] * n_customers,
        **attributes,
    })
    labels = contract_frame("labels", {
        "customer_id": customer_ids,
        "as_of": [AS_OF] * n_customers,
        "is_bad": outcome.map(LABEL_VALUES).astype(bool),
    })
    tables = {"customers": customers, "labels": labels}

    bad = int(labels["is_bad"].sum())
    missing = {name: int(series.isna().sum()) for name, series in attributes.items()
               if series.isna().any()}
    numeric = [name for name, series in attributes.items()
               if pd.api.types.is_numeric_dtype(series.dtype)]
    categorical = [name for name in attributes if name not in numeric]
    report = [
        f"read {n_customers:,} rows (applications) with {len(source.columns)} columns from "
        f"{path.name}",
        f"customers: {n_customers:,} rows (customer_id 1..{n_customers} in row order), "
        f"{len(attributes)} attributes ({len(numeric)} numeric, {len(categorical)} categorical); "
        f"signed_up_at unknown: placeholder {SIGNED_UP_AT.date()} for every customer",
        *(f"left out: {column} for all {n_customers:,} rows: {reason}"
          for column, reason in LEFT_OUT.items()),
        f"labels: {n_customers:,} rows as of {AS_OF.date()} (placeholder), {bad:,} bad "
        f"({LABEL_COLUMN} == 'bad', {percent(bad, n_customers)})",
        f"{', '.join(ABSENT_TABLES)}: not written (the source has no event history; read as "
        "empty tables): A-score models only",
    ]
    if missing:
        report.append("missing attribute values kept as missing: "
                      + ", ".join(f"{name}: {count:,}" for name, count in missing.items()))
    details: dict[str, object] = {
        "source_file": path.name,
        "rows_read": n_customers,
        "as_of": AS_OF.isoformat(),
        "signed_up_at_placeholder": SIGNED_UP_AT.isoformat(),
        "row_counts": {name: len(frame) for name, frame in tables.items()},
        "attributes": {"numeric": numeric, "categorical": categorical},
        "left_out": {column: {"rows": n_customers, "reason": reason}
                     for column, reason in LEFT_OUT.items()},
        "missing_attribute_values": missing,
        "labels": {"bad": bad, "bad_rate": round(bad / n_customers, 5) if n_customers else None},
        "supports": "application-score (A-score) models only: no event history",
        "assumptions": [
            "customer_id is the 1-based row number",
            "signed_up_at and as_of are placeholders (the source has no dates)",
            "numeric columns stay numeric, categories stay the source's strings",
        ],
    }
    manifest = DatasetManifest(extraction_date=AS_OF.isoformat(), source=SOURCE_NAME,
                               details=details)
    return AdaptedDataset(tables=tables, manifest=manifest, report=report)
