"""kit's recorder alone (``pytest -p kit.plugin``) on throwaway projects: what it writes, and what it never writes."""

from __future__ import annotations

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
