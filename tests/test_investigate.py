"""`kit investigate`: notebooks executed in real kernels, offline HTML reports, failures named.

The whole investigation runs once per session (the ``investigation`` fixture); tests/test_notebooks.py judges
each notebook of it, the checks here its reports.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, assert_no_traceback
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

pytestmark = pytest.mark.slow


def _written(directory: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in directory.rglob("*") if p.is_file())


def test_the_reports_are_self_contained_and_indexed(target, investigation):
    """The checks on the reports, on the session's one investigation (every notebook ran there once)."""
    out, result = investigation.out, investigation.result
    assert result.code == 0, result.all[-3000:]
    page = (out / "01_connectivity.html").read_text()
    assert re.search(r'<img[^>]+src="data:image/png;base64,', page)          # the plot, inline
    assert "kit-header" in page and "embedded" in page                        # what ran, against what
    for report in sorted(out.glob("*.html")):
        assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', report.read_text()), report.name  # offline
    index = (out / "index.html").read_text()
    for notebook in sorted((REPO / "notebooks").glob("*.ipynb")):
        assert f"{notebook.stem}.html" in index, notebook.stem
    assert "passed" in index and "failed (cell" not in index
    assert re.search(r"[\d.]+ s wall time \([\d.]+ s of notebook time, side by side\)", index)
    assert not list(out.glob(".kit-partial-*")), "the staging directory was left behind"
    assert target.password not in _written(out) + result.all
    assert target.password not in _written(Path(target_data_dir()))


def target_data_dir() -> str:
    from kit.common.paths import data_dir

    return str(data_dir())


@pytest.mark.faults
def test_a_failing_cell_names_notebook_and_cell_and_the_others_still_render(target, run_kit, tmp_path):
    broken = new_notebook(cells=[new_markdown_cell("# A broken step"), new_code_cell("x = 1"),
                                 new_code_cell("raise ValueError('boom <script>alert(1)</script>')")])
    bad, good = tmp_path / "00_broken.ipynb", tmp_path / "00_fine.ipynb"
    nbformat.write(broken, bad)
    nbformat.write(new_notebook(cells=[new_markdown_cell("# A fine step"), new_code_cell("print(6 * 7)")]), good)
    out = tmp_path / "reports"
    result = run_kit("investigate", "--out", str(out), str(bad), str(good))
    assert result.code == 1
    assert "notebook 00_broken failed at cell 2: ValueError" in result.err
    assert re.search(r"\] 00_fine \.\.\. ok", result.out), result.out
    assert_no_traceback(result.err)
    assert (out / "00_fine.html").exists() and (out / "00_broken.html").exists()
    index = (out / "index.html").read_text()
    assert "failed (cell 2)" in index and "<script>alert" not in index  # hostile text escaped
    assert "<script>alert" not in (out / "00_broken.html").read_text()


def test_committed_notebooks_have_no_outputs():
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and not cell.get("execution_count"), path.name
