"""The metric columns the validation, segment, fairness and monitoring tables share, defined once
so that a metric reads under the same header with the same format on every page."""

from __future__ import annotations

from credit_models.reporting import html as page

ROWS = page.Column("rows", "Rows", page.count)
SHARE = page.Column("share", "Share", page.percent(1))
BADS = page.Column("bads", "Bads", page.count)
BAD_RATE = page.Column("bad_rate", "Bad rate", page.percent(2))
MEAN_PD = page.Column("mean_probability", "Mean PD", page.percent(2))
AUC = page.Column("auc", "AUC", page.number(3))
GINI = page.Column("gini", "Gini", page.number(3))
KS = page.Column("ks", "KS", page.number(3))
LOG_LOSS = page.Column("log_loss", "Log loss", page.number(4))
BRIER = page.Column("brier", "Brier", page.number(4))
ECE = page.Column("ece", "ECE", page.number(4))

OUTCOMES = (BADS, BAD_RATE, MEAN_PD)
"""How many defaulted, and how that compares with the PD the model predicted."""
GROUP_PERFORMANCE = (AUC, KS, ECE)
"""Ranking and calibration of a group (a month, a segment value)."""
