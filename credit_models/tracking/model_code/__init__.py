"""Model-as-code entry points: MLflow logs these files instead of pickling a Python object, so
loading a registered model runs reviewed code from the package, never unpickled bytes."""

from __future__ import annotations

from pathlib import Path

MODEL_CODE_DIR = Path(__file__).resolve().parent
PD_MODEL_CODE = MODEL_CODE_DIR / "pd_model.py"
DECISION_MODEL_CODE = MODEL_CODE_DIR / "decision_model.py"
