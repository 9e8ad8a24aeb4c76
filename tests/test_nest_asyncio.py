"""What ``nest_asyncio.apply()`` does in a real Jupyter kernel, measured, and the catalogue entry built on it.

One notebook runs once in a real kernel (kit's kernel helper, as notebook entries run): the facts it prints and
the records kit's plugin writes from its ``%%ipytest`` cells are what the tests assert, so the entry's explanation
(``kit/catalogue/nest-asyncio-kernel``) stays a measurement, not a description.
"""

from __future__ import annotations

import json
import time

import pytest

from kit.catalogue.scenario import get_scenario

MEASURE = '''
import asyncio, json
import ipytest
from kit.notebook import IPYTEST_ADDOPTS


def fact(key, value):
    print("FACT " + json.dumps([key, value]))


kernel_loop = asyncio.get_running_loop()


async def which_loop():
    return asyncio.get_running_loop()


for name, attempt in (("asyncio.run", asyncio.run), ("run_until_complete", kernel_loop.run_until_complete)):
    coroutine = which_loop()
    try:
        attempt(coroutine)
        fact(name + " before apply", "worked")
    except RuntimeError as error:
        fact(name + " before apply", "RuntimeError: " + str(error))
    finally:
        coroutine.close()
# %%
import os
import nest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

nest_asyncio.apply()
fact("asyncio.run after apply ran on the kernel loop", asyncio.run(which_loop()) is kernel_loop)
fact("run_until_complete after apply ran on the kernel loop",
     kernel_loop.run_until_complete(which_loop()) is kernel_loop)
fact("kernel loop closed after asyncio.run", kernel_loop.is_closed())
engine = create_async_engine(os.environ["DATABASE_URL"])


async def setup():
    async with engine.connect() as conn:
        await conn.execute(text("select 1"))
    return asyncio.get_running_loop()

fact("engine set up by asyncio.run on the kernel loop", asyncio.run(setup()) is kernel_loop)
# %%
ipytest.autoconfig(run_in_thread=False, addopts=[*IPYTEST_ADDOPTS, "-p", "kit.plugin"])
# %%
%%ipytest
async def test_on_the_kernel_thread():
    await asyncio.sleep(0)
# %%
fact("exit code on the kernel thread", int(ipytest.exit_code))
ipytest.autoconfig(run_in_thread=True, addopts=[*IPYTEST_ADDOPTS, "-p", "kit.plugin"])
# %%
%%ipytest
async def test_reuse_the_engine_set_up_by_asyncio_run():
    async with engine.connect() as conn:
        await conn.execute(text("select 1"))


async def test_own_engine_after_apply():
    own = create_async_engine(os.environ["DATABASE_URL"])
    async with own.connect() as conn:
        await conn.execute(text("select 1"))
    await own.dispose()
'''


@pytest.fixture(scope="module")
def measured(target, tmp_path_factory):
    """The facts the notebook printed and the test records kit's plugin wrote, by test name."""
    from kit.run.kernel import execute_notebook, failed_cell, notebook_from_cells

    directory = tmp_path_factory.mktemp("nest-asyncio")
    record = directory / "kit-record.jsonl"
    notebook = notebook_from_cells(MEASURE)
    started = time.monotonic()
    error = execute_notebook(notebook, directory, 120,
                             env={"DATABASE_URL": target.url, "KIT_RECORD_FILE": str(record)})
    print(f"\nnest-asyncio notebook ran in a real kernel in {time.monotonic() - started:.1f} s")
    assert error is None and failed_cell(notebook) == (None, None), (error, failed_cell(notebook))
    facts = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in (output.get("text") or "").splitlines():
                if line.startswith("FACT "):
                    key, value = json.loads(line[5:])
                    facts[key] = value
    events = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    tests = {}
    for event in events:
        name = (event.get("nodeid") or "").rpartition("::")[2]
        if event["event"] == "report" and event.get("outcome") != "passed":
            tests.setdefault(name, {})["error"] = f"{event.get('error_type')}: {event.get('message')}"
        elif event["event"] == "test":
            tests.setdefault(name, {})["loops"] = event["loops"]
    return facts, tests


def test_without_apply_asyncio_run_and_run_until_complete_refuse_in_a_cell(measured):
    facts, _ = measured
    assert facts["asyncio.run before apply"] == \
        "RuntimeError: asyncio.run() cannot be called from a running event loop"
    assert facts["run_until_complete before apply"] == "RuntimeError: This event loop is already running"


def test_with_apply_they_work_on_the_kernels_own_loop(measured):
    facts, _ = measured
    assert facts["asyncio.run after apply ran on the kernel loop"] is True  # no new loop: the kernel's
    assert facts["run_until_complete after apply ran on the kernel loop"] is True
    assert facts["kernel loop closed after asyncio.run"] is False
    assert facts["engine set up by asyncio.run on the kernel loop"] is True


def test_apply_does_not_make_pytest_asyncio_work_on_the_kernels_thread(measured):
    facts, tests = measured
    assert facts["exit code on the kernel thread"] != 0
    assert tests["test_on_the_kernel_thread"]["error"] == \
        "RuntimeError: Runner.run() cannot be called from a running event loop"


def test_an_engine_set_up_by_asyncio_run_fails_in_a_test_on_another_loop(measured):
    _, tests = measured
    assert tests["test_reuse_the_engine_set_up_by_asyncio_run"]["error"].startswith("RuntimeError: Task <")
    assert "attached to a different loop" in tests["test_reuse_the_engine_set_up_by_asyncio_run"]["error"]
    assert "error" not in tests["test_own_engine_after_apply"]  # run_in_thread + an engine of its own: passes


def test_after_apply_the_recorder_still_labels_each_test_loop(measured):
    """nest_asyncio replaces run_until_complete on the loop's class, and its version never calls
    BaseEventLoop's: the recorder wraps that override too, so every test's loop is still labelled."""
    _, tests = measured
    own, reuse = tests["test_own_engine_after_apply"]["loops"], tests["test_reuse_the_engine_set_up_by_asyncio_run"]
    assert own.get("call") and reuse["loops"].get("call")
    assert own["call"] != reuse["loops"]["call"]  # a loop per test, on ipytest's thread


def test_the_entry_through_kit_scenarios_run(target, run_kit, tmp_path):
    out = tmp_path / "r.json"
    started = time.monotonic()
    result = run_kit("scenarios", "run", "nest-asyncio-kernel", "--json", str(out))
    print(f"\nkit scenarios run nest-asyncio-kernel: {time.monotonic() - started:.1f} s")
    assert result.code == 0 and "2 of 2 variants behaved as the catalogue says" in result.all, result.all
    rows = {r["variant"]: r for r in json.loads(out.read_text())}
    broken, fixed = rows["broken"], rows["fixed"]
    assert broken["reproduced"] and broken["outcome"] == "failed"
    assert broken["first_error_type"] == "RuntimeError"
    assert "attached to a different loop" in broken["first_error_message"]
    assert fixed["reproduced"] and fixed["outcome"] == "passed" and fixed["tests_passed"] == 1


def test_the_entry_states_the_measured_facts_and_what_to_use_instead():
    entry = get_scenario("nest-asyncio-kernel")
    assert entry.kind == "notebook" and entry.repair.get("mechanical") is False and entry.repair.get("reason")
    for measured_fact in ("cannot be called from a running event loop", "This event loop is already running",
                          "kernel's running loop", "Runner.run() cannot be called from a running event loop",
                          "attached to a different loop"):
        assert measured_fact in " ".join(entry.explanation.split()), measured_fact
    fix = " ".join(entry.fix.split())
    assert "await seed()" in fix and "run_in_thread=True" in fix and "fixtures" in fix
    assert any("archived" in r for r in entry.references)
