"""Names of the modelling periods, shared by splitters, metrics and reports."""

from __future__ import annotations

DEVELOPMENT, VALIDATION, CALIBRATION = "dev", "valid", "calibration"
OUT_OF_TIME, TEST = "oot", "test"
UNUSED = "unused"
"""Rows of a customer who belongs to another split: kept in the table (nothing is dropped
silently), counted, and ignored by fitting and metrics."""

SPLIT_ORDER = (DEVELOPMENT, VALIDATION, CALIBRATION, OUT_OF_TIME, TEST)
