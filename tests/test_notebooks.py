"""Every notebook of ``notebooks/`` runs, through the real ``kit investigate``: a broken notebook fails its own
test, named by the test id (``test_the_notebook_runs[03_root_cause]``).

All notebooks run once per session (the ``investigation`` fixture in conftest.py: ``kit investigate --jobs 2``,
about a minute on 2 cores); each test then judges its own notebook from that run's output and reports.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import REPO, Investigation

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted(path.stem for path in (REPO / "notebooks").glob("*.ipynb"))


def _line_of(investigation: Investigation, name: str) -> str | None:
    """The ``[n/N] NAME ... verdict (seconds)`` line kit investigate printed for ``name``."""
    match = re.search(rf"^\[\s*\d+/\d+\] {re.escape(name)} \.\.\. .*$", investigation.result.out, re.M)
    return match.group(0) if match else None


def _errors(notebook) -> list[str]:
    return [f"cell {index}: {output.get('ename')}: {output.get('evalue')}"
            for index, cell in enumerate(notebook.cells) for output in cell.get("outputs", [])
            if output.get("output_type") == "error"]


def test_there_are_notebooks_to_run():
    assert len(NOTEBOOKS) >= 8, NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_notebook_runs(investigation: Investigation, name: str):
    result, out = investigation.result, investigation.out
    line = _line_of(investigation, name)
    assert line is not None, f"kit investigate printed no line for {name} (exit {result.code}):\n{result.all[-3000:]}"
    total = len(NOTEBOOKS)
    assert re.fullmatch(rf"\[\s*\d+/{total}\] {re.escape(name)} \.\.\. ok \(\d+\.\d s\)", line), (
        f"{line}\n{result.err[-3000:]}")
    html = out / f"{name}.html"
    assert html.is_file() and html.stat().st_size > 0, f"no report {html}"
    executed = nbformat.read(out / f"{name}.ipynb", as_version=4)
    code = [cell for cell in executed.cells if cell.cell_type == "code" and cell.source.strip()]
    assert code and all(cell.get("execution_count") for cell in code), f"{name}: not every code cell ran"
    assert not _errors(executed), _errors(executed)


def test_notebook_09_shows_the_fix_its_patch_and_its_rounds(investigation: Investigation):
    """The report of step 4 automated: kit fix's verdict on the `simplified` stage, its patch, what it left (the
    removed user/token fixtures, named not touched), the team's own diff beside it, and a plot per fixed stage."""
    name = "09_fix_your_suite"
    assert re.search(r"\.\.\. ok \(", _line_of(investigation, name) or ""), investigation.result.all[-3000:]
    page = (investigation.out / f"{name}.html").read_text()
    assert "kit fix: simplified" in page and "after: 4 passed, 0 failed, 5 errors; 5 findings left" in page
    assert "+asyncio_default_fixture_loop_scope = session" in page and "-def event_loop():" in page  # the patch
    assert re.search(r"FixtureLookupError: fixture ('|&#39;)user('|&#39;) not found", page)          # what is left
    assert "+++ stabilised/conftest.py" in page                                                       # the team's
    assert "kit fix: original" in page and "after: 21 passed, 1 failed, 0 errors" in page
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', page)) >= 2                        # the rounds


def test_notebook_09_is_thin_takes_a_suite_and_is_committed_without_outputs():
    notebook = nbformat.read(REPO / "notebooks" / "09_fix_your_suite.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []) and "SUITE = None" in code[0].source
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert all(len(cell.source.splitlines()) <= 15 for cell in code), "keep the logic in kit, not in the cells"
    assert any("fix_suite(" in cell.source for cell in code) and any("fix_rounds_figure(" in cell.source
                                                                       for cell in code)


def test_notebook_10_shows_the_cells_loops_and_diagnosis_under_the_cell(investigation: Investigation):
    """The `%%kit` notebook's report: the broken example diagnosed under its cell, with the loop timeline of each
    cell (broken and fixed), and the fixed cell green."""
    name = "10_your_fixtures_inline"
    assert re.search(r"\.\.\. ok \(", _line_of(investigation, name) or ""), investigation.result.all[-3000:]
    page = (investigation.out / f"{name}.html").read_text()
    assert "module-engine-per-test-loop" in page and "attached to a different loop" in page
    assert len(re.findall(r"src=['\"]data:image/png;base64,", page)) >= 2  # a timeline per %%kit cell
    assert "2 passed, 0 failed, 0 errors" in page and "no findings" in page


def test_notebook_10_is_thin_uses_kit_cells_and_is_committed_without_outputs():
    notebook = nbformat.read(REPO / "notebooks" / "10_your_fixtures_inline.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert all(len(cell.source.splitlines()) <= 25 for cell in code), "keep the logic in kit, not in the cells"
    assert sum(cell.source.startswith("%%kit") for cell in code) == 2
    assert any("_kit.causes" in cell.source for cell in code) and any("_kit.exit_code == 0" in cell.source
                                                                       for cell in code)
