"""Every catalogue entry, both halves, on the real embedded PostgreSQL: broken shows its symptom, fixed passes."""

from __future__ import annotations

import json
import os

import pytest
from conftest import assert_no_traceback, leftover_processes

from kit.catalogue.scenario import catalogue, get_scenario

REQUIRED = {
    "module-engine-per-test-loop", "session-engine-function-loop", "fixture-loop-scope-mismatch",
    "mixed-loop-scopes", "legacy-event-loop-override", "shared-session-gather", "leaked-connection-hang",
    "loop-closed-dispose", "terminated-connection", "rollback-isolation-leak", "expired-attribute-missing-greenlet",
    "strict-mode-async-fixture", "asgi-client-lifespan", "testclient-loop", "notebook-running-loop",
    "notebook-kernel-engine", "session-carried-across-loops", "testclient-per-test-pooled-engine",
    "redis-client-per-test-loop", "httpx-client-across-loops", "anyio-runner-loop",
}
ENTRIES = [s.id for s in catalogue()]


@pytest.fixture(scope="module")
def results(target):
    """The whole catalogue, both variants, run once for this module (two at a time, as users would)."""
    from kit.catalogue.reproduce import run_scenarios

    ran = run_scenarios(None, target, jobs=2, progress=lambda *a: None)
    return {(r.scenario, r.variant, r.driver): r for r in ran} | {(r.scenario, r.variant): r for r in ran
                                                                   if r.driver == "asyncpg"}


def test_every_required_entry_exists_with_complete_metadata():
    assert REQUIRED <= set(ENTRIES)
    for entry in catalogue():
        assert entry.title and entry.fix and entry.references
        sentences = [s for s in entry.explanation.replace("\n", " ").split(". ") if s.strip()]
        assert 3 <= len(sentences) <= 7, (entry.id, len(sentences))
        assert (entry.path / "broken").is_dir() and (entry.path / "fixed").is_dir()


@pytest.mark.parametrize("entry", ENTRIES)
def test_broken_variant_shows_its_symptom(results, entry):
    result = results[(entry, "broken")]
    assert result.reproduced, (result.outcome, result.first_error_type, result.first_error_message)
    if next(s for s in catalogue() if s.id == entry).symptom.phase != "log":  # logged-only symptoms pass
        assert result.outcome in ("failed", "error", "timeout")


PSYCOPG = [s.id for s in catalogue() if "psycopg" in s.supported_drivers]


@pytest.mark.parametrize("entry", PSYCOPG)
def test_each_database_entry_does_on_psycopg_what_it_declares(results, entry):
    """Both drivers by default; psycopg's async connection is not bound to a loop, so a loop entry may pass there."""
    scenario = next(s for s in catalogue() if s.id == entry)
    broken, fixed = results[(entry, "broken", "psycopg")], results[(entry, "fixed", "psycopg")]
    assert broken.reproduced, (scenario.broken_on("psycopg")[0], broken.outcome, broken.first_error_type,
                               broken.first_error_message)
    assert (broken.outcome == "passed") == (scenario.broken_on("psycopg")[0] == "passes"), broken.outcome
    assert fixed.reproduced and fixed.outcome == "passed", (fixed.first_error_type, fixed.first_error_message)


def test_the_driver_is_chosen_and_entries_without_it_are_refused(target, run_kit, tmp_path):
    result = run_kit("scenarios", "run", "module-engine-per-test-loop", "--driver", "psycopg", "--variant", "broken",
                     "--json", str(tmp_path / "r.json"))
    ran = json.loads((tmp_path / "r.json").read_text())
    assert result.code == 0 and [(r["driver"], r["outcome"]) for r in ran] == [("psycopg", "passed")], result.all
    refused = run_kit("scenarios", "run", "httpx-client-across-loops", "--driver", "psycopg")  # no database driver
    assert refused.code == 2 and "runs on psycopg" in refused.all and "Traceback" not in refused.all


@pytest.mark.parametrize("entry", ENTRIES)
def test_fixed_variant_passes(results, entry):
    result = results[(entry, "fixed")]
    assert result.reproduced and result.outcome == "passed", (result.first_error_type, result.first_error_message)
    assert result.tests_passed >= 1 and result.tests_failed == result.tests_errored == 0


def test_loops_are_recorded_per_test(results):
    broken = results[("module-engine-per-test-loop", "broken")]
    call_loops = [t["loops"].get("call", [None])[0] for t in broken.tests]
    assert len(set(call_loops)) == len(call_loops) >= 2  # a new loop per test: the root of the conflict
    assert any(t["error_type"] == "RuntimeError" for t in broken.tests)


def test_the_hang_is_killed_recorded_as_timeout_and_leaves_nothing_behind(results, target):
    from kit.common.aio import run_sync
    from kit.db.target import connect

    hang = results[("leaked-connection-hang", "broken")]
    assert hang.outcome == "timeout" and hang.first_error_type == "timeout"
    assert hang.hang_dump and "hung in" in hang.hang_dump  # where it hung, from the recorder's dump
    assert not leftover_processes(os.environ["KIT_DATA_DIR"], "kit-leaked-connection-hang")

    async def scratch_backends() -> int:
        conn = await connect(target)
        try:
            return await conn.fetchval("select count(*) from pg_stat_activity where datname like 'kit_test_leaked%'")
        finally:
            await conn.close()

    assert run_sync(scratch_backends()) == 0


def test_cli_contract_for_one_entry(target, run_kit, tmp_path):
    out = tmp_path / "out.json"
    result = run_kit("scenarios", "run", "module-engine-per-test-loop", "--variant", "both", "--json", str(out))
    assert result.code == 0, result.all
    rows = json.loads(out.read_text())
    # both drivers by default: the entry declares what it does on psycopg (its broken variant passes there)
    assert [(r["scenario"], r["variant"], r["driver"]) for r in rows] == [
        ("module-engine-per-test-loop", "broken", "asyncpg"), ("module-engine-per-test-loop", "fixed", "asyncpg"),
        ("module-engine-per-test-loop", "broken", "psycopg"), ("module-engine-per-test-loop", "fixed", "psycopg")]
    keys = {"scenario", "variant", "outcome", "reproduced", "tests_passed", "tests_failed", "tests_errored",
            "first_error_type", "first_error_message", "duration_s", "versions", "driver"}
    assert all(keys <= set(r) and r["reproduced"] for r in rows)
    assert rows[0]["first_error_type"] == "RuntimeError" and "different loop" in rows[0]["first_error_message"]
    assert rows[0]["versions"]["pytest-asyncio"] and rows[0]["versions"]["postgresql"].startswith("PostgreSQL")
    assert target.password not in result.all + out.read_text()


def test_cli_list_and_unknown_id(run_kit):
    listed = json.loads(run_kit("scenarios", "list", "--json").out)
    assert {e["id"] for e in listed} == set(ENTRIES)
    unknown = run_kit("scenarios", "run", "no-such-entry")
    assert unknown.code == 2 and "no catalogue entry 'no-such-entry'" in unknown.err
    assert_no_traceback(unknown.all)


PLUGGY_1_0 = '''
import os, sys, pytest
_new_style = pytest.hookimpl
# kit's recorder: the kit.plugin shim and the kit.recorder package (a new-style wrapper asked for there would be
# refused, as pluggy < 1.1 refuses it)
_KIT_RECORDER = ("kit.plugin", "kit.recorder.")

def _no_new_style_wrappers(function=None, **options):
    # what pluggy < 1.1 says, to kit's recorder only (this pytest-asyncio needs new-style wrappers itself)
    if "wrapper" in options and sys._getframe(1).f_globals.get("__name__", "").startswith(_KIT_RECORDER):
        open(os.environ["SHIM_MARKER"], "a").write("refused\\n")
        raise TypeError("__call__() got an unexpected keyword argument 'wrapper'")
    return _new_style(function, **options)

pytest.hookimpl = _no_new_style_wrappers

import importlib, importlib.util, inspect
_modules = [importlib.import_module(f"pluggy.{name}") for name in ("_hooks", "_impl", "_decorators")
            if importlib.util.find_spec(f"pluggy.{name}")]
_varnames = next(module.varnames for module in _modules if hasattr(module, "varnames"))

def _getfullargspec_varnames(function, **options):
    # how pluggy < 1.1 finds a hook implementation's arguments: getfullargspec, blind to __wrapped__
    if not (getattr(function, "__module__", None) or "").startswith(_KIT_RECORDER):
        return _varnames(function, **options)
    spec = inspect.getfullargspec(function)
    args = tuple(spec.args[:-len(spec.defaults)] if spec.defaults else spec.args)
    return (args[1:] if inspect.ismethod(function) else args), ()

for _module in _modules:
    if hasattr(_module, "varnames"):
        _module.varnames = _getfullargspec_varnames
'''


def test_the_recorder_records_the_same_on_pluggy_without_new_style_wrappers(target, tmp_path):
    """pytest 7 may run on pluggy < 1.1, which has no new-style wrappers and reads hook arguments its own way: the
    recorder (plain hooks only) asks for none and records the same outcomes, phases, errors and loops."""
    from kit.catalogue.scenario import assemble
    from kit.db.target import scratch_database
    from kit.run.runner import run_pytest

    shim, marker = tmp_path / "shim", tmp_path / "refused.txt"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(PLUGGY_1_0)
    runs = {}
    for name, env in (("new", {}), ("old", {"PYTHONPATH": str(shim), "SHIM_MARKER": str(marker)})):
        with scratch_database(target, f"pluggy_{name}") as database:
            project = assemble(get_scenario("mixed-loop-scopes"), "broken", tmp_path / name)
            runs[name] = run_pytest(project, database.url, env=env, timeout=60)

    def summary(run):
        return [(c.nodeid, c.outcome, c.phase, c.error_type, c.loops, c.fixture_loops, bool(c.duration_s))
                for c in run.cases]

    assert not marker.exists()  # no new-style wrapper was asked for
    assert runs["new"].count("error") + runs["new"].count("failed") > 0
    assert summary(runs["old"]) == summary(runs["new"])


def test_every_entry_declares_whether_kit_fix_can_repair_it_and_the_planner_agrees():
    """An entry without a ``[repair]`` table is repaired mechanically: the planner must hold a repair for its cause.
    One that declares ``mechanical = false`` must say why, and the planner must hold none (kit fix lists it
    unfixed with that reason)."""
    from kit.diagnose.repair.plan import MECHANICAL

    for entry in catalogue():
        declared = entry.repair.get("mechanical", True)
        assert declared is (entry.id in MECHANICAL), entry.id
        if not declared:
            assert entry.repair.get("reason", "").strip(), entry.id
