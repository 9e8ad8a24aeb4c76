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
