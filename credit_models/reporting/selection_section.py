"""The validation report's "Feature selection" section: every candidate characteristic with its
information value and stability (the selection report), the rule that kept or dropped it, and
the IV-against-PSI plot. Its own module because it reads the selector's report, not the scores."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from credit_models.evaluation.metrics import stability_status
from credit_models.reporting import html as page
from credit_models.reporting.selection_plots import iv_psi_plot

SELECTION_COLUMNS = ("feature", "iv", "psi", "kept", "reason")
"""The columns a selection report must have (the selector's ``selection_report_`` has more)."""
IV_READINGS = ((0.02, "unpredictive"), (0.1, "weak"), (0.3, "medium"), (np.inf, "strong"))
"""Upper limits of the usual readings of an information value."""


def iv_reading(iv: float, max_iv: float | None = None) -> str:
    """The usual reading of an information value; above ``max_iv``, suspect of leakage."""
    if page.is_missing(iv) or not np.isfinite(iv):
        return page.MISSING
    if max_iv is not None and iv > max_iv:
        return "suspect"
    return next(text for limit, text in IV_READINGS if iv < limit)


def _psi_badge(value: object) -> str:
    if page.is_missing(value) or not np.isfinite(float(value)):  # type: ignore[arg-type]
        return page.MISSING
    return f"{float(value):.3f} {page.badge(stability_status(float(value)))}"  # type: ignore[arg-type]


_COLUMNS = (
    page.Column("rank", "#", page.count),
    page.Column("feature", "Feature", numeric=False),
    page.Column("description", "Description", numeric=False, wrap=True),
    page.Column("missing_rate", "Missing", page.percent(1)),
    page.Column("iv_text", "IV (reading)"),
    page.Column("psi", "PSI", _psi_badge, markup=True),
    page.Column("outcome", "Outcome", numeric=False, wrap=True),
)
RULE_WORDS = {
    "missing_rate": "mostly missing", "single_value_share": "near-constant",
    "iv": "weak (IV)", "psi": "unstable (PSI)", "correlated": "correlated with a stronger one",
    "unusable": "unusable", "excluded": "excluded by the config",
    "sensitive": "sensitive attribute",
}
"""The rule a drop reason starts with (its first word), in words."""


def _rule(reason: str) -> str:
    first = reason.split(":")[0].split(" ")[0]
    return RULE_WORDS.get(first, first)


def selection_section_body(report: pd.DataFrame, limits: Mapping[str, float | None],
                           rules: str) -> str:
    """How to read the selection, a one-line summary, the IV/PSI plot and the table of every
    characteristic, highest IV first. ``limits`` holds the selector's ``min_iv``, ``max_psi``
    and ``max_iv`` (drawn as lines; missing ones are left out); ``rules`` names the rule set in
    words."""
    max_iv = limits.get("max_iv")
    table = report.sort_values("iv", ascending=False, kind="stable", na_position="last")
    table = table.reset_index(drop=True)
    kept = table["kept"].astype(bool)
    reasons = table["reason"].fillna("").astype(str)
    warnings = (table["warning"].fillna("").astype(str) if "warning" in table
                else pd.Series("", index=table.index))
    table = table.assign(
        rank=np.arange(1, len(table) + 1),
        description=table.get("description", ""),
        missing_rate=table.get("missing_rate", np.nan),
        iv_text=[page.MISSING if page.is_missing(value) else
                 f"{float(value):.3f} {iv_reading(value, max_iv)}" for value in table["iv"]],
        outcome=[("kept" if keep else f"dropped: {reason}") + (f"; {warning}" if warning else "")
                 for keep, reason, warning in zip(kept, reasons, warnings, strict=True)],
    )
    dropped = reasons[~kept].map(_rule).value_counts()
    summary = (f"{int(kept.sum())} of {len(table)} characteristics kept"
               + (f" by the {rules}" if rules else "")
               + ("; dropped: " + ", ".join(f"{count} {rule}" for rule, count in dropped.items())
                  if len(dropped) else "; none dropped")
               + (f"; {int(warnings.ne('').sum())} flagged" if warnings.ne("").any() else "")
               + ".")
    lines = {key: value for key, value in limits.items() if value is not None}
    return "".join((
        page.how(
            "Every candidate characteristic: its information value on development (how well "
            "its WoE bins separate goods from bads: < 0.02 unpredictive, 0.02–0.1 weak, "
            "0.1–0.3 medium, above strong"
            + (f"; above {max_iv:g} suspect of leakage" if max_iv is not None else "")
            + "), its PSI from development to the later pre-test periods (the test period never "
            "chooses features; – where there is none) and the rule that kept or dropped it."
        ),
        page.headline(summary),
        page.single(page.figure(
            iv_psi_plot(report, min_iv=lines.get("min_iv"), max_psi=lines.get("max_psi"),
                        max_iv=lines.get("max_iv")),
            "Information value against stability per characteristic",
            "One point per characteristic: further right separates goods from bads better, "
            "higher drifted more between periods. The dashed lines are the selection's "
            "thresholds; the strongest and the unstable characteristics are named.",
        )),
        page.table(table, _COLUMNS, scroll=True, tall=True),
    ))
