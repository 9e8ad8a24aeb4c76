"""`kit investigate`: notebooks executed in real kernels, offline HTML reports, failures named."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import REPO, assert_no_traceback

pytestmark = pytest.mark.slow


def _written(directory: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in directory.rglob("*") if p.is_file())


def test_notebook_01_renders_a_self_contained_report(target, run_kit, tmp_path):
    out = tmp_path / "reports"
    result = run_kit("investigate", "--out", str(out), "01_connectivity")
    assert result.code == 0, result.all
    assert re.search(r"\[1/1\] 01_connectivity \.\.\. ok \(\d+\.\d s\)", result.out)
    page = (out / "01_connectivity.html").read_text()
    assert re.search(r'<img[^>]+src="data:image/png;base64,', page)          # the plot, inline
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', page)   # nothing fetched
    assert "kit-header" in page and "embedded" in page                        # what ran, against what
    index = (out / "index.html").read_text()
    assert "01_connectivity.html" in index and "passed" in index
    executed = nbformat.read(out / "01_connectivity.ipynb", as_version=4)
    assert all(not any(o.get("output_type") == "error" for o in c.get("outputs", [])) for c in executed.cells)
    assert target.password not in _written(out) + result.all
    assert target.password not in _written(Path(target_data_dir()))


def target_data_dir() -> str:
    from kit.common.paths import data_dir

    return str(data_dir())


@pytest.mark.faults
def test_a_failing_cell_names_notebook_and_cell_and_the_others_still_render(target, run_kit, tmp_path):
    broken = new_notebook(cells=[new_markdown_cell("# A broken step"), new_code_cell("x = 1"),
                                 new_code_cell("raise ValueError('boom <script>alert(1)</script>')")])
    bad = tmp_path / "00_broken.ipynb"
    nbformat.write(broken, bad)
    out = tmp_path / "reports"
    result = run_kit("investigate", "--out", str(out), str(bad), "01_connectivity")
    assert result.code == 1
    assert "notebook 00_broken failed at cell 2: ValueError" in result.err
    assert_no_traceback(result.err)
    assert (out / "01_connectivity.html").exists() and (out / "00_broken.html").exists()
    index = (out / "index.html").read_text()
    assert "failed (cell 2)" in index and "<script>alert" not in index  # hostile text escaped
    assert "<script>alert" not in (out / "00_broken.html").read_text()


def test_committed_notebooks_have_no_outputs():
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and not cell.get("execution_count"), path.name
