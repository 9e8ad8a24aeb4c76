"""``%%kit`` in a real Jupyter kernel: a passing cell, a failing cell, a different-loop failure diagnosed, the HTML
under the cell (outcomes, loop timeline, finding), ``_kit`` bound and the cell's tests in the records store.

One kernel runs every cell (a notebook built with nbformat, executed by kit's own kernel helper, as
``kit investigate`` does); each test then judges its part of the executed notebook.
"""

from __future__ import annotations

import json
import re

import pytest

from kit.run.kernel import execute_notebook, failed_cell, notebook_from_cells

CELLS = '''
%load_ext kit
# %%
%%kit
def test_arithmetic():
    assert 1 + 1 == 2
# %%
import kit.notebook as kn

kn.setup()  # loads the extension again: a no-op
passing = _kit
# %%
%%kit
def test_wrong():
    assert 1 + 1 == 3
# %%
failing = _kit
# %%
%%kit
import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine(os.environ["DATABASE_URL"])  # module level, pooled: outlives each test's loop


async def test_first():
    async with engine.connect() as conn:
        assert (await conn.execute(text("select 1"))).scalar() == 1


async def test_second():
    async with engine.connect() as conn:
        assert (await conn.execute(text("select 1"))).scalar() == 1
# %%
loops = _kit
notebook_engine = create_async_engine(os.environ["DATABASE_URL"])
async with notebook_engine.connect() as conn:  # top-level await: on the kernel's own loop
    assert (await conn.execute(text("select 1"))).scalar() == 1
# %%
%%kit
async def test_reuse_the_notebook_engine():
    async with notebook_engine.connect() as conn:
        await conn.execute(text("select 1"))
# %%
import ipytest

kernel = _kit
ipytest.autoconfig(run_in_thread=False, addopts=kn.IPYTEST_ADDOPTS)  # pytest on the kernel's own thread
# %%
%%kit
import asyncio


async def test_on_the_kernel_thread():
    await asyncio.sleep(0)
# %%
running = _kit
kn.setup()  # back to run_in_thread=True
# %%
%%kit --no-such-kit-option
def test_never_runs():
    pass
# %%
import json

usage = _kit  # this cell's (pytest stopped on its arguments), not the previous cell's
print("SUMMARY " + json.dumps({name: {"type": type(cell).__name__, "exit_code": cell.exit_code,
                                      "outcomes": {c.nodeid: c.outcome for c in cell.run.cases},
                                      "loops": {c.nodeid: c.loops for c in cell.run.cases},
                                      "causes": cell.causes}
                               for name, cell in (("passing", passing), ("failing", failing), ("loops", loops),
                                                  ("kernel", kernel), ("running", running), ("usage", usage))}))
'''


@pytest.fixture(scope="module")
def kernel_run(target, tmp_path_factory):
    """The notebook above, executed in a real kernel (its DATABASE_URL: ``kn.setup()``'s embedded server)."""
    work = tmp_path_factory.mktemp("magic")
    notebook = notebook_from_cells(CELLS)
    stopped = execute_notebook(notebook, work, timeout=240)
    assert stopped is None, stopped
    index, error = failed_cell(notebook)
    assert index is None, f"cell {index}: {error}"
    return notebook


def _outputs(notebook, index: int) -> list[dict]:
    return notebook.cells[index].outputs


def _html(notebook, index: int) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in _outputs(notebook, index))


def _summary(notebook) -> dict:
    text = "".join(o.get("text", "") for o in _outputs(notebook, len(notebook.cells) - 1))
    return json.loads(text.split("SUMMARY ", 1)[1])


def test_a_passing_cell(kernel_run):
    notebook = kernel_run
    summary = _summary(notebook)["passing"]
    assert summary["type"] == "KitCell" and summary["exit_code"] == 0 and summary["causes"] == []
    assert summary["outcomes"] == {"cell.py::test_arithmetic": "passed"}
    page = _html(notebook, 1)
    assert "test_arithmetic" in page and "no findings" in page
    printed = "".join(o.get("text", "") for o in _outputs(notebook, 1))
    assert "1 passed" in printed  # ipytest's own pytest output, as %%ipytest shows it


def test_a_cell_that_stops_on_a_usage_error_replaces_the_previous_result(kernel_run):
    notebook = kernel_run
    summary = _summary(notebook)["usage"]
    assert summary["type"] == "KitCell" and summary["exit_code"] == 4
    assert summary["outcomes"] == {} and summary["causes"] == []
    page = _html(notebook, len(notebook.cells) - 2)
    assert "no test ran in this cell" in page and "usage error" in page


def test_a_failing_cell(kernel_run):
    notebook = kernel_run
    summary = _summary(notebook)["failing"]
    assert summary["exit_code"] == 1 and summary["outcomes"] == {"cell.py::test_wrong": "failed"}
    page = _html(notebook, 3)
    assert "test_wrong" in page and "AssertionError" in page


def test_a_different_loop_failure_is_diagnosed_under_the_cell(kernel_run):
    notebook = kernel_run
    summary = _summary(notebook)["loops"]
    assert summary["exit_code"] == 1
    assert summary["outcomes"] == {"cell.py::test_first": "passed", "cell.py::test_second": "failed"}
    assert summary["causes"] == ["module-engine-per-test-loop"]
    first, second = summary["loops"]["cell.py::test_first"]["call"], summary["loops"]["cell.py::test_second"]["call"]
    assert first != second  # a loop per test
    page = _html(notebook, 5)
    assert re.search(r"src='data:image/png;base64,[A-Za-z0-9+/=]{200,}'", page), "the loop timeline image"
    assert "module-engine-per-test-loop" in page and "attached to a different loop" in page
    assert "a connection opened on L" in page  # the pool's evidence


def test_an_engine_awaited_on_the_kernels_loop_is_named_from_the_pool(kernel_run):
    """The connection was opened in a cell, before pytest (and its recorder) started: its loop is still found."""
    notebook = kernel_run
    summary = _summary(notebook)["kernel"]
    assert summary["outcomes"] == {"cell.py::test_reuse_the_notebook_engine": "failed"}
    assert summary["causes"] == ["notebook-kernel-engine"]
    page = _html(notebook, 7)
    assert "before pytest started" in page and "MainThread" in page


def test_pytest_on_the_kernels_thread_is_named_from_the_recorded_config(kernel_run):
    notebook = kernel_run
    summary = _summary(notebook)["running"]
    assert summary["outcomes"] == {"cell.py::test_on_the_kernel_thread": "failed"}
    assert summary["causes"] == ["notebook-running-loop"]
    assert "already running" in _html(notebook, 9)


def test_the_cells_tests_are_in_the_records(kernel_run):
    from kit.run.records import iter_records

    tests = [r for r in iter_records("test") if r.get("variant") == "notebook/%%kit"]
    by_subject = {r["subject"]: r for r in tests}
    assert {"cell.py::test_arithmetic", "cell.py::test_wrong", "cell.py::test_first",
            "cell.py::test_second"} <= set(by_subject)
    assert by_subject["cell.py::test_second"]["outcome"] == "failed"
    assert by_subject["cell.py::test_second"]["loops"]["phases"]["call"]
    assert by_subject["cell.py::test_first"]["target_kind"] == "embedded"


def test_the_same_message_outside_a_kernel_is_not_the_notebooks(tmp_path):
    """``asyncio.run()`` called inside an async test says "cannot be called from a running event loop" too; no loop
    ran on pytest's thread before the session, so kit must not send the user to ipytest's run_in_thread."""
    from kit.diagnose import diagnose

    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    (tmp_path / "test_nested.py").write_text("import asyncio\n\n\nasync def test_nested_run():\n"
                                             "    asyncio.run(asyncio.sleep(0))\n")
    diagnosis = diagnose(tmp_path, timeout=120)
    [case] = diagnosis.run.cases
    assert case.outcome == "failed" and "cannot be called from a running event loop" in case.message
    assert "notebook-running-loop" not in {f.cause for f in diagnosis.findings}
    assert not diagnosis.run.config.get("running_loop")
