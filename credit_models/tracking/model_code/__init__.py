"""Model-as-code entry points: MLflow logs these files instead of pickling a Python object, so
loading a registered model runs reviewed code from the package, never unpickled bytes."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

MODEL_CODE_DIR = Path(__file__).resolve().parent
PD_MODEL_CODE = MODEL_CODE_DIR / "pd_model.py"
DECISION_MODEL_CODE = MODEL_CODE_DIR / "decision_model.py"

SERVING_PACKAGES = ("mlflow", "xgboost", "pandas", "numpy", "pyarrow", "scikit-learn", "scipy",
                    "shap", "omegaconf", "pyyaml", "matplotlib", "optbinning")
"""What the served models import (through the package's code), pinned to the versions they were
trained with: listing them saves MLflow a slow dependency inference (a subprocess that loads the
model) at every log."""


def pip_requirements() -> list[str]:
    return [f"{name}=={version(name)}" for name in SERVING_PACKAGES]
