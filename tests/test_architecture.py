"""The import layering, as code: each contract of ``[tool.importlinter]`` in pyproject.toml holds.

jobs > config > tracking > reporting > workflows > stages (data, features, labels, split, models,
explain, limits, evaluation) > base (errors, paths, timestamps): a layer imports only the layers
below it, so a stage can be used and tested without Hydra, MLflow or a report, and a change to a
job never reaches a stage. A broken contract fails naming the contract and the import chain that
breaks it, as ``lint-imports`` prints them.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
PACKAGE = ROOT / "credit_models"
STAGES = ("data", "features", "labels", "split", "models", "explain", "limits", "evaluation")


def _contracts() -> list[dict]:
    with PYPROJECT.open("rb") as handle:
        return tomllib.load(handle)["tool"]["importlinter"]["contracts"]


CONTRACTS = {contract["id"]: contract for contract in _contracts()}


def _lint(contract_id: str) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` for one contract, without its cache (a stale graph would hide an import
    added since), in a fresh interpreter (the graph is built from the files, not what this
    process imported)."""
    command = [sys.executable, "-c",
               "from importlinter.cli import lint_imports_command; lint_imports_command()",
               "--no-cache", "--no-logo", "--contract", contract_id, str(PYPROJECT)]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def _broken_section(output: str) -> str:
    """What lint-imports says about the broken contract: its name and each import chain."""
    marker = "Broken contracts"
    return output[output.index(marker):].strip() if marker in output else output.strip()


@pytest.mark.parametrize("contract_id", sorted(CONTRACTS))
def test_import_contract_is_kept(contract_id):
    result = _lint(contract_id)
    name = CONTRACTS[contract_id]["name"]
    if result.returncode != 0:
        pytest.fail(f"import contract {contract_id!r} ({name}) is broken:\n"
                    f"{_broken_section(result.stdout + result.stderr)}", pytrace=False)


def test_contracts_cover_the_layers_and_the_plain_stages():
    """The contracts say what the layering is: dropping a layer or a stage from them would let
    the test pass while the rule goes unchecked."""
    layers = CONTRACTS["layers"]
    assert layers["type"] == "layers" and layers.get("exhaustive") is True
    assert layers["containers"] == ["credit_models"]
    assert [layer.replace(" ", "") for layer in layers["layers"]] == [
        "jobs", "config", "tracking", "reporting", "workflows", ":".join(STAGES),
        "errors:paths:timestamps",
    ]
    plain = CONTRACTS["plain-stages"]
    assert plain["type"] == "forbidden"
    assert {f"credit_models.{stage}" for stage in STAGES} <= set(plain["source_modules"])
    assert set(plain["forbidden_modules"]) == {"hydra", "omegaconf", "mlflow"}
    with PYPROJECT.open("rb") as handle:
        assert tomllib.load(handle)["tool"]["importlinter"]["include_external_packages"] is True
    assert CONTRACTS["independent-jobs"]["modules"] == ["credit_models.jobs.*"]


def _workflow_imports(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, module, name) of every import of ``credit_models.workflows`` in ``path``; name is
    None for a whole-module import."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith(
                "credit_models.workflows"):
            found += [(node.lineno, node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, None) for alias in node.names
                      if alias.name.startswith("credit_models.workflows")]
    return found


def _classes(module: str) -> set[str]:
    """The classes ``module`` (a module of this package) defines at its top level, read from its
    source: nothing is imported, so an unrelated import error cannot hide or fake a finding."""
    path = ROOT.joinpath(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    if not path.is_file():
        return set()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef)}


def test_tracking_takes_only_result_types_from_workflows():
    """Tracking logs what a workflow produced; it runs no stage of it. So it imports the
    workflows' result types (the classes they define) and nothing else: a function imported
    from a workflow is a step of the training run that tracking would be doing."""
    offending = []
    for path in sorted((PACKAGE / "tracking").rglob("*.py")):
        for line, module, name in _workflow_imports(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if name is None:
                offending.append(f"{where} imports the module {module}")
            elif name not in _classes(module):
                offending.append(f"{where} imports {module}.{name}, not a class of {module}")
    if offending:
        pytest.fail("tracking reaches into workflow internals:\n" + "\n".join(offending),
                    pytrace=False)
