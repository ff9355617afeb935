"""The public Python API: every name resolves, the package imports light, and the README's
"Python API" example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import credit_models

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example() -> str:
    section = README.read_text(encoding="utf-8").split("## Python API", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert match, "README.md has no python block under '## Python API'"
    return match.group(1)


def test_every_public_name_resolves_to_a_documented_object():
    for name in credit_models.__all__:
        value = getattr(credit_models, name)
        assert value is not None
        if name != "__version__":
            assert (value.__doc__ or "").strip(), f"credit_models.{name} has no docstring"
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        credit_models.nonsense  # noqa: B018


def test_importing_the_package_loads_no_heavy_stack():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, credit_models; print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert not {"xgboost", "mlflow", "shap", "hydra", "sklearn"} & set(loaded)


@pytest.mark.slow
def test_the_readme_example_trains_evaluates_explains_and_logs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(readme_example(), "README.md (Python API)", "exec"), {"__name__": "__readme__"})  # noqa: S102
    printed = capsys.readouterr().out
    assert "'auc'" in printed and "oot/auc" in printed
    report = (tmp_path / "validation_report.html").read_text(encoding="utf-8")
    assert "<html" in report.lower() and "oot" in report
    assert (tmp_path / "mlflow.db").is_file()
