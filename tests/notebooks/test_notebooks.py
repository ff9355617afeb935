"""The notebooks in notebooks/: each one executes top to bottom on its small data, uses only the
public API, and is committed without outputs (a diff shows the code, not a re-run's images)."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
README = ROOT / "README.md"
INTERNAL_IMPORT = re.compile(r"^\s*(from\s+(credit_models\.|hydra|omegaconf)|import\s+(hydra|omegaconf))",
                             re.MULTILINE)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_there_are_the_five_notebooks_the_readme_links():
    names = [path.name for path in NOTEBOOKS]
    assert len(names) == 5, names
    readme = README.read_text(encoding="utf-8")
    for name in names:
        assert f"notebooks/{name}" in readme, f"README.md does not link notebooks/{name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_clean_and_uses_the_public_api(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    with_outputs = [index for index, cell in enumerate(code)
                    if cell.get("outputs") or cell.get("execution_count") is not None]
    assert not with_outputs, (f"{path.name}: code cells {with_outputs} carry outputs; clear them "
                              "before committing (Jupyter: Edit > Clear outputs of all cells)")
    assert _source(code[0]).startswith("%matplotlib inline"), \
        f"{path.name}: the first code cell must start with %matplotlib inline"
    for cell in code:
        match = INTERNAL_IMPORT.search(_source(cell))
        assert match is None, f"{path.name} imports an internal module: {match.group(0).strip()!r}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_executes_top_to_bottom(path, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    # The kernel is started by name: make it this interpreter's, whatever PATH the suite had.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    from jupyter_client.manager import KernelManager

    notebook = nbformat.read(path, as_version=4)
    # IPC sockets under tmp_path, not TCP: a kernel's five ports could be taken between another
    # test's choice of a free port and its server binding it.
    kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel"))
    client = nbclient.NotebookClient(notebook, km=kernel, timeout=600,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()   # a failing cell raises CellExecutionError with its source and traceback
    images = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.outputs if "image/png" in output.get("data", {})]
    assert images, f"{path.name} showed no figure"
    assert (tmp_path / "runs").is_dir(), f"{path.name} wrote nothing under runs/"
