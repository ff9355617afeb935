"""The wheel carries the Hydra configs, so installed console scripts work outside a checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_ships_every_config_and_the_console_scripts(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    wheel = next(tmp_path.glob("credit_models-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for config in (ROOT / "conf").rglob("*.yaml"):
        assert f"credit_models/conf/{config.relative_to(ROOT / 'conf')}" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "credit-models-train = credit_models.jobs.train:main" in scripts
    assert "credit-models-data = credit_models.jobs.data:main" in scripts
