"""kit's recorder alone (``pytest -p kit.plugin``) on throwaway projects: what it writes, and what it never writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kit.run.runner import parse_events

SECRET = "Hunter2Secret"
INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"


def test_alone_it_writes_kit_records_without_changing_outcomes_or_leaking_the_password(pytester, monkeypatch):
    monkeypatch.delenv("KIT_RECORD_FILE", raising=False)  # else the records would go there
    monkeypatch.setenv("DATABASE_URL", f"postgresql+asyncpg://app:{SECRET}@127.0.0.1:9/app_test")
    pytester.makeini(INI)
    pytester.makepyfile(test_app=f"""
        import asyncio
        import os

        async def test_passes():
            await asyncio.sleep(0)

        def test_fails_with_the_url_in_its_message():
            raise ConnectionError(f"cannot reach {{os.environ['DATABASE_URL']}} (password {SECRET})")
    """)
    result = pytester.runpytest_subprocess("-p", "kit.plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)

    text = (pytester.path / ".kit" / "records.jsonl").read_text()
    assert SECRET not in text  # neither inside the URL nor on its own
    assert "app:***@127.0.0.1:9/app_test" in text
    cases, _, config = parse_events(text.splitlines())
    assert [(case.nodeid, case.outcome) for case in cases] == [
        ("test_app.py::test_passes", "passed"), ("test_app.py::test_fails_with_the_url_in_its_message", "failed")]
    passing = next(case for case in cases if case.outcome == "passed")
    assert passing.loops.get("call"), "the loop the async test ran on is recorded"
    failing = next(case for case in cases if case.outcome == "failed")
    assert (failing.phase, failing.error_type) == ("call", "ConnectionError")
    assert config["asyncio_mode"] == "auto" and config["pytest-asyncio"]


@pytest.mark.parametrize("how", ["option", "environment"])
def test_the_record_file_can_be_chosen(pytester, monkeypatch, tmp_path, how):
    record = tmp_path / "chosen.jsonl"
    monkeypatch.delenv("KIT_RECORD_FILE", raising=False)
    pytester.makeini(INI)
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    if how == "option":
        result = pytester.runpytest_subprocess("-p", "kit.plugin", "--kit-record", str(record))
    else:
        monkeypatch.setenv("KIT_RECORD_FILE", str(record))
        result = pytester.runpytest_subprocess()  # the entry point is active once a record file is asked for
    result.assert_outcomes(passed=1)
    cases, _, _ = parse_events(record.read_text().splitlines())
    assert [(case.nodeid, case.outcome) for case in cases] == [("test_one.py::test_one", "passed")]
    assert not (pytester.path / ".kit").exists()


def test_each_fixture_gets_the_loops_of_its_own_setup_nested_failed_or_followed_by_others(pytester, monkeypatch,
                                                                                          tmp_path):
    """A fixture's loops are those run while its setup is in progress: a setup nested through getfixturevalue gives
    its loop to both, a loop run after a setup ended is not that fixture's (the test's own, a later fixture's), and a
    setup that raises keeps the loop it ran."""
    record = tmp_path / "events.jsonl"
    monkeypatch.setenv("KIT_RECORD_FILE", str(record))
    pytester.makeini(INI)
    pytester.makepyfile(test_fixtures="""
        import asyncio
        import pytest

        def run():  # a new loop each time: L1, L2... in order
            asyncio.run(asyncio.sleep(0))

        @pytest.fixture
        def outer(request):
            run()
            request.getfixturevalue("inner")
            run()

        @pytest.fixture
        def inner():
            run()

        @pytest.fixture
        def plain():
            return 1

        @pytest.fixture
        def later():
            run()

        @pytest.fixture
        def broken():
            run()
            raise RuntimeError("setup failed")

        def test_nested(outer, plain, later):
            run()

        def test_broken(broken):
            pass
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    cases, evidence, _ = parse_events(record.read_text().splitlines())
    nested, broken = cases
    assert nested.loops == {"setup": ["L1", "L2", "L3", "L4"], "call": ["L5"]}, nested.loops
    assert nested.fixture_loops == {"inner": "L2", "outer": "L3", "later": "L4"}, nested.fixture_loops
    assert (broken.outcome, broken.phase, broken.fixture_loops) == ("error", "setup", {"broken": "L6"})
    fixtures = [(e["nodeid"].split("::")[1], e["fixture"], e["scope"], e["loop"]) for e in evidence
                if e.get("event") == "fixture"]
    assert fixtures == [("test_nested", "inner", "function", "L2"), ("test_nested", "outer", "function", "L3"),
                        ("test_nested", "later", "function", "L4"), ("test_broken", "broken", "function", "L6")]


def test_engines_keep_every_pool_option_and_are_traced_to_where_they_were_made(pytester, monkeypatch, tmp_path):
    """The recorder notes where each engine's pool is made without touching what SQLAlchemy reads: create_engine
    takes the pool's keyword arguments from ``Pool.__init__``'s own code (``pool_pre_ping`` must still work)."""
    record = tmp_path / "events.jsonl"
    monkeypatch.setenv("KIT_RECORD_FILE", str(record))
    pytester.makeini(INI)
    pytester.makepyfile(test_engines="""
        import pytest
        from sqlalchemy.ext.asyncio import create_async_engine

        URL = "postgresql+asyncpg://u@127.0.0.1:9/db"
        at_import = create_async_engine(URL, pool_pre_ping=True)

        @pytest.fixture(scope="module")
        def engine():
            engine = create_async_engine(URL, pool_pre_ping=True, pool_recycle=30)
            yield engine

        def test_options(engine):
            assert engine.pool._pre_ping and engine.pool._recycle == 30 and at_import.pool._pre_ping

        async def test_dispose_keeps_the_engine_origin(engine):
            await engine.dispose()
            assert engine.pool._pre_ping
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    _, evidence, _ = parse_events(record.read_text().splitlines())
    made = [(e["fixture"], e["scope"], e["nodeid"]) for e in evidence if e.get("action") == "pool-created"]
    assert made == [(None, None, None), ("engine", "module", "test_engines.py::test_options")], made


def test_only_the_session_kit_started_is_recorded(pytester, monkeypatch, tmp_path):
    """A suite that tests a pytest plugin runs inner sessions (in process, and in subprocesses) that inherit
    KIT_RECORD_FILE: their tests are not the suite's and must not be recorded."""
    record = tmp_path / "events.jsonl"
    monkeypatch.setenv("KIT_RECORD_FILE", str(record))
    pytester.makeini(INI)
    pytester.makeconftest('pytest_plugins = ["pytester"]\n')
    pytester.makepyfile(test_plugin="""
        def test_inner_in_process(pytester):
            pytester.makepyfile(test_inner="def test_a():\\n    pass\\ndef test_b():\\n    assert 0\\n")
            pytester.runpytest().assert_outcomes(passed=1, failed=1)

        def test_inner_subprocess(pytester):
            pytester.makepyfile(test_inner="def test_c():\\n    pass\\n")
            pytester.runpytest_subprocess().assert_outcomes(passed=1)
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    cases, _, _ = parse_events(record.read_text().splitlines())
    assert [c.nodeid for c in cases] == ["test_plugin.py::test_inner_in_process",
                                         "test_plugin.py::test_inner_subprocess"]


@pytest.mark.parametrize("data", [
    {"nodeid": 'a.py::t[ü"\\\n]', "loops": {"call": ["L1", "L2"]}, "fixture_loops": {}, "passed": {"call": 1e-07}},
    {"chain": [{"type": "E", "message": "tab\there"}], "frames": [], "path": Path("/x/y"), "none": None, "yes": True,
     "nan": float("nan"), "big": 10 ** 30},
])
def test_an_event_line_is_what_the_json_module_writes(data):
    """The recorder reuses one C encoder for its lines: the text must be json.dumps(default=str)'s, byte for byte."""
    import json

    from kit.recorder.events import decode, encode

    line = encode("test", 1796061448.1552, data)
    assert line == json.dumps({"event": "test", "t": 1796061448.1552, **data}, default=str)
    assert list(decode([line]))[0]["event"] == "test"


@pytest.mark.parametrize("extra, phases", [
    ((), {"test_ok": {"setup", "call", "teardown"}, "test_setup_fails": {"setup", "teardown"}}),
    (("--setup-only",), {"test_ok": {"setup", "teardown"}, "test_setup_fails": {"setup", "teardown"}}),
])
def test_each_loop_is_noted_in_the_phase_that_ran_it(pytester, monkeypatch, extra, phases):
    """Phases are read from the reports: a setup that fails goes straight to teardown (no call), and --setup-only
    runs no call phase either; a loop run in teardown is never noted as the call's."""
    monkeypatch.delenv("KIT_RECORD_FILE", raising=False)
    pytester.makeini(INI)
    pytester.makepyfile(test_phases="""
        import asyncio
        import pytest
        import pytest_asyncio

        @pytest_asyncio.fixture
        async def resource():
            await asyncio.sleep(0)
            yield 1
            await asyncio.sleep(0)

        @pytest_asyncio.fixture
        async def broken(resource):
            raise RuntimeError("setup fails")
            yield

        async def test_ok(resource):
            await asyncio.sleep(0)

        async def test_setup_fails(broken):
            pass
    """)
    result = pytester.runpytest_subprocess("-p", "kit.plugin", "-p", "no:cacheprovider", *extra)
    assert result.ret in (0, 1), result.stdout.str()
    cases, _, _ = parse_events((pytester.path / ".kit" / "records.jsonl").read_text().splitlines())
    seen = {case.nodeid.rpartition("::")[2]: {phase for phase, loops in case.loops.items() if loops}
            for case in cases}
    assert seen == phases, seen


def test_each_test_s_events_are_written_in_order_between_its_start_and_its_end(pytester, monkeypatch, tmp_path):
    """Start and end events are held and written in batches: every other event (a fixture's loop, a failure, a skip)
    must still land after its test's start and before its end, and every test must have both. pytest reports a
    test's warnings once its whole protocol ended: they come after its end, as they always did."""
    record = tmp_path / "events.jsonl"
    monkeypatch.setenv("KIT_RECORD_FILE", str(record))
    pytester.makeini(INI)
    pytester.makepyfile(test_order="""
        import asyncio, warnings
        import pytest

        @pytest.fixture
        def on_a_loop():
            asyncio.run(asyncio.sleep(0))

        @pytest.mark.parametrize("n", range(40))
        def test_passes(n):
            pass

        def test_fails(on_a_loop):
            raise AssertionError("no")

        def test_skips():
            pytest.skip("not here")

        def test_warns(on_a_loop):
            warnings.warn("careful", UserWarning)

        @pytest.mark.parametrize("n", range(40))
        async def test_async(n, on_a_loop):
            await asyncio.sleep(0)
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=81, failed=1, skipped=1)
    events = [json.loads(line) for line in record.read_text().splitlines()]
    assert events[-1]["event"] == "end"
    by_test: dict[str, list[str]] = {}
    for event in events:
        if event.get("nodeid") and event["event"] != "warning":
            by_test.setdefault(event["nodeid"], []).append(event["event"])
    assert len(by_test) == 83
    for nodeid, kinds in by_test.items():
        assert kinds[0] == "start" and kinds[-1] == "test" and kinds.count("start") == kinds.count("test") == 1, \
            (nodeid, kinds)
    assert by_test["test_order.py::test_fails"] == ["start", "fixture", "report", "test"]
    assert by_test["test_order.py::test_warns"] == ["start", "fixture", "test"]
    assert [e["nodeid"] for e in events if e["event"] == "warning"] == ["test_order.py::test_warns"]
    times = [event["t"] for event in events if event["event"] in ("start", "test")]
    assert times == sorted(times)
