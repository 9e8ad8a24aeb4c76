"""kit diagnose's classification rules, one by one, on recorded runs: no database, no subprocess.

``tests/data/records/<entry>.jsonl`` is what kit's recorder wrote while the catalogue entry's broken variant ran
(``<entry>.meta.json``: the exit code, and the hang dump of a run killed at its timeout); regenerate them with
``python tests/data/records/regenerate.py``. Each is folded into a :class:`PytestRun` exactly as the runner
folds a live one, then classified: the entry must be the root cause of its own broken variant, and every other
failure of the run must be fallout pointing at that root. The hand-made event lists below pin single rules,
including the ones no catalogue entry reaches alone (an error kit cannot explain stays ``unknown``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import REPO

from kit.catalogue.scenario import assemble, catalogue, get_scenario
from kit.diagnose import classify
from kit.run.runner import PytestRun, overall_outcome, parse_events

RECORDS = Path(__file__).parent / "data" / "records"
PYTEST_ENTRIES = sorted(s.id for s in catalogue() if s.kind == "pytest")

# entry -> every finding classify() gives for the entry's recorded broken run, in order:
# (nodeid, phase, cause, root) with root None for a root finding, else the nodeid of the root it is fallout of.
EXPECTED: dict[str, list[tuple[str, str, str, str | None]]] = {
    "anyio-runner-loop": [
        ("test_signup.py::test_both_signed_up", "setup", "anyio-runner-loop", None),
        # pytest re-raises the module fixture's cached error: the same failure, not a second root
        ("test_signup.py::test_third_signup", "setup", "anyio-runner-loop", "test_signup.py::test_both_signed_up"),
    ],
    "asgi-client-lifespan": [
        ("test_api.py::test_create_user", "call", "asgi-client-lifespan", None),
        ("test_api.py::test_count_users", "call", "asgi-client-lifespan", None),
    ],
    "expired-attribute-missing-greenlet": [
        ("test_users.py::test_register_returns_the_new_user", "call", "expired-attribute-missing-greenlet", None),
        ("test_users.py::test_committed_user_keeps_its_email", "call", "expired-attribute-missing-greenlet", None),
    ],
    "fixture-loop-scope-mismatch": [
        ("test_users.py::test_add_user", "setup", "fixture-loop-scope-mismatch", None),
        # pytest's bare AssertionError for the half-initialised session fixture
        ("test_users.py::test_count_users", "setup", "fixture-loop-scope-mismatch", "test_users.py::test_add_user"),
    ],
    "httpx-client-across-loops": [  # every second test: httpx drops the broken connection, the next one is fresh
        ("test_prices.py::test_price_in_pounds", "call", "httpx-client-across-loops", None),
        ("test_prices.py::test_unknown_currency", "call", "httpx-client-across-loops", None),
    ],
    "leaked-connection-hang": [
        ("test_users.py::test_change_email_of_missing_user", "teardown", "leaked-connection-hang", None),
    ],
    "legacy-event-loop-override": [
        ("tests/test_users.py::test_register_bob", "call", "legacy-event-loop-override", None),
        ("tests/test_users.py::test_count_users", "call", "legacy-event-loop-override",
         "tests/test_users.py::test_register_bob"),
    ],
    "loop-closed-dispose": [  # every test passed: the only trace is the logged "Event loop is closed"
        ("test_users.py::test_count_users", "teardown", "loop-closed-dispose", None),
    ],
    "mixed-loop-scopes": [
        ("test_users.py::test_add_user", "setup", "mixed-loop-scopes", None),
        ("test_users.py::test_starts_empty", "setup", "mixed-loop-scopes", "test_users.py::test_add_user"),
        ("test_users.py::test_add_other_user", "setup", "mixed-loop-scopes", "test_users.py::test_add_user"),
        # logged only: "Future exception was never retrieved" while the busy connection was closed
        ("test_users.py::test_add_other_user", "teardown", "mixed-loop-scopes", "test_users.py::test_add_user"),
    ],
    "module-engine-per-test-loop": [
        ("test_users.py::test_register_bob", "call", "module-engine-per-test-loop", None),
        ("test_users.py::test_count_users", "call", "module-engine-per-test-loop", "test_users.py::test_register_bob"),
    ],
    "redis-client-per-test-loop": [  # every second test: redis-py drops the connection and reconnects
        ("test_views.py::test_second_view", "call", "redis-client-per-test-loop", None),
        ("test_views.py::test_unknown_page_has_no_views", "call", "redis-client-per-test-loop", None),
    ],
    "rollback-isolation-leak": [
        ("test_register.py::test_duplicate_email_is_rejected", "call", "rollback-isolation-leak", None),
        ("test_register.py::test_each_test_starts_from_the_seed", "call", "rollback-isolation-leak",
         "test_register.py::test_duplicate_email_is_rejected"),
        ("test_register.py::test_register_new_user", "call", "rollback-isolation-leak",
         "test_register.py::test_duplicate_email_is_rejected"),
    ],
    "session-carried-across-loops": [  # the session holds its connection: no checkout on the second loop
        ("test_users.py::test_find_bob", "call", "session-carried-across-loops", None),
        # PendingRollbackError: the session still holds the failure of the test before
        ("test_users.py::test_count_users", "call", "session-carried-across-loops", "test_users.py::test_find_bob"),
    ],
    "session-engine-function-loop": [
        ("test_users.py::test_add_user", "call", "session-engine-function-loop", None),
        ("test_users.py::test_find_user", "call", "session-engine-function-loop", "test_users.py::test_add_user"),
        ("test_users.py::test_count_users", "call", "session-engine-function-loop", "test_users.py::test_add_user"),
        ("test_users.py::test_count_users", "teardown", "session-engine-function-loop", "test_users.py::test_add_user"),
    ],
    "shared-session-gather": [
        ("test_users.py::test_register_many", "call", "shared-session-gather", None),
    ],
    "strict-mode-async-fixture": [
        ("test_users.py::test_add_user", "setup", "strict-mode-async-fixture", None),
        ("test_users.py::test_starts_empty", "setup", "strict-mode-async-fixture", "test_users.py::test_add_user"),
    ],
    "terminated-connection": [
        ("test_users.py::test_count_after_database_restart", "call", "terminated-connection", None),
    ],
    "testclient-per-test-pooled-engine": [
        ("test_api.py::test_count_users", "setup", "testclient-per-test-pooled-engine", None),
        ("test_api.py::test_health", "setup", "testclient-per-test-pooled-engine", "test_api.py::test_count_users"),
    ],
    "xdist-shared-schema": [  # two workers rebuilt one database's tables: pytest re-raises the cached setup error
        ("test_users.py::test_register_and_find[carol]", "setup", "xdist-shared-schema", None),
        *[(f"test_users.py::test_register_and_find[{name}]", "setup", "xdist-shared-schema",
           "test_users.py::test_register_and_find[carol]") for name in ("dave", "erin", "grace", "judy")],
    ],
    "testclient-loop": [
        # the app never used the test's session: its count sees nothing, although it ran first
        ("test_api.py::test_count_users", "call", "testclient-loop", "test_api.py::test_create_user"),
        ("test_api.py::test_create_user", "setup", "testclient-loop", None),
        # logged: the connection opened on the portal's loop could not be closed from the test's loop
        ("test_api.py::test_create_user", "teardown", "testclient-loop", "test_api.py::test_create_user"),
    ],
}


# -- building runs ---------------------------------------------------------------------------------


def run_of(lines: list[str], exit_code: int | None = 1, timed_out: bool = False, hang_dump: str | None = None,
           timeout: float = 10.0) -> PytestRun:
    """The :class:`PytestRun` kit's runner would have returned for these recorder lines."""
    cases, events, config = parse_events(lines)
    for case in cases:
        if case.outcome == "running":  # the test in flight when the run was killed (as the runner marks it)
            case.outcome, case.error_type = "timeout", "timeout"
            case.message = f"killed after {timeout:.0f} s" if timed_out else "the run ended mid-test"
    return PytestRun(overall_outcome(exit_code, cases, timed_out), exit_code, cases, events, config,
                     timeout if timed_out else 1.0, "", hang_dump)


def recorded_run(entry: str) -> PytestRun:
    meta = json.loads((RECORDS / f"{entry}.meta.json").read_text())
    lines = (RECORDS / f"{entry}.jsonl").read_text().splitlines()
    return run_of(lines, meta["exit_code"], meta["timed_out"], meta["hang_dump"], meta["timeout_s"])


def findings(diagnosis) -> list[tuple[str, str, str, str | None]]:
    return [(f.nodeid, f.phase, f.cause, f.root if f.secondary else None) for f in diagnosis.findings]


# -- the recorded catalogue ----------------------------------------------------------------------------


def test_every_pytest_entry_has_a_recorded_run_and_an_expectation():
    recorded = sorted(p.name.removesuffix(".jsonl") for p in RECORDS.glob("*.jsonl"))
    missing = sorted(set(PYTEST_ENTRIES) - set(recorded))
    assert not missing, f"no recorded run of {missing}: `python tests/data/records/regenerate.py {' '.join(missing)}`"
    gone = sorted(set(recorded) - set(PYTEST_ENTRIES))
    assert not gone, f"records of entries the catalogue no longer has: {gone}"
    assert sorted(EXPECTED) == PYTEST_ENTRIES


def test_recorded_runs_hold_no_secret_and_no_machine_path():
    credential = re.compile(r"[a-z][a-z0-9+.-]*://[^:/@\s\"]*:(?!\*\*\*@)[^@\s\"]+@")
    for path in sorted(RECORDS.glob("*.json*")):
        text = path.read_text()
        assert not credential.search(text), f"{path.name}: an unmasked credential: {credential.search(text)[0]}"
        for place in ("/tmp/", str(REPO), "/home/", "site-packages/", "kit_test_"):
            assert place not in text.replace("<site-packages>/", ""), f"{path.name} holds {place!r}: regenerate it"


@pytest.mark.parametrize("entry", PYTEST_ENTRIES)
def test_the_recorded_broken_run_shows_its_catalogue_symptom(entry):
    """The data is what it claims to be: the entry's broken variant, reproduced (else regenerate it)."""
    from kit.catalogue.judge import reproduced

    scenario = get_scenario(entry)
    assert reproduced(scenario, "broken", recorded_run(entry)), f"{entry}: {scenario.symptom} is not in the record"


@pytest.mark.parametrize("entry", PYTEST_ENTRIES)
def test_each_entry_is_the_root_cause_of_its_own_broken_run(entry, tmp_path):
    project = assemble(get_scenario(entry), "broken", tmp_path / "project")
    diagnosis = classify(recorded_run(entry), entry, project)
    assert findings(diagnosis) == EXPECTED[entry]
    assert {f.cause for f in diagnosis.roots} == {entry}
    roots = {f.nodeid for f in diagnosis.roots}
    for finding in diagnosis.findings:
        assert finding.evidence, f"{finding.nodeid}: a finding without evidence"
        assert finding.fix and "kit cannot match" not in finding.fix
        if finding.secondary:
            assert finding.root in roots, f"{finding.nodeid} is fallout of {finding.root}, which is no root"


def test_the_legacy_override_is_named_only_when_the_project_defines_event_loop(tmp_path):
    """The recorder cannot see an ignored ``event_loop`` fixture: kit reads the project for it. Without the
    project, the same run is a plain per-test-loop conflict; with it, kit names the legacy override."""
    run = recorded_run("legacy-event-loop-override")
    without = classify(run, "legacy", None)
    assert [f.cause for f in without.roots] == ["module-engine-per-test-loop"]
    project = assemble(get_scenario("legacy-event-loop-override"), "broken", tmp_path / "project")
    with_project = classify(run, "legacy", project)
    assert [f.cause for f in with_project.roots] == ["legacy-event-loop-override"]
    assert any("conftest.py:" in line and "event_loop" in line for line in with_project.roots[0].evidence)


def test_a_hang_dump_that_waits_on_the_database_is_a_leaked_connection():
    run = recorded_run("leaked-connection-hang")
    root = classify(run, "hang").roots[0]
    assert (root.error_type, root.phase) == ("timeout", "teardown")
    assert any("connection still checked out" in line for line in root.evidence)
    run.hang_dump = "kit: hung in test_users.py::test_change_email_of_missing_user (teardown)\n"  # no database in it
    assert classify(run, "hang").roots[0].cause == "unknown"


# -- single rules on hand-made events ----------------------------------------------------------------

CONFIG = {"event": "config", "asyncio_mode": "auto", "asyncio_default_fixture_loop_scope": "function",
          "asyncio_default_test_loop_scope": "function", "pytest": "9.0.0", "pytest-asyncio": "1.2.0",
          "sqlalchemy": "2.0.40", "asyncpg": "0.30.0", "python": "3.11.7"}
DIFFERENT_LOOP = ("Task <Task pending name='Task-9' coro=<test_b() running at test_app.py:12>> got Future "
                  "<Future pending cb=[Protocol._on_waiter_completed()]> attached to a different loop")
BUSY = ("(sqlalchemy.dialects.postgresql.asyncpg.InterfaceError) <class 'asyncpg.exceptions._base.InterfaceError'>: "
        "cannot perform operation: another operation is in progress")


def passed(nodeid: str, loop: str, **fixture_loops: str) -> list[dict]:
    return [{"event": "start", "nodeid": nodeid},
            {"event": "test", "nodeid": nodeid, "loops": {"setup": [loop], "call": [loop], "teardown": [loop]},
             "fixture_loops": fixture_loops, "passed": {"setup": 0.01, "call": 0.01, "teardown": 0.01}}]


def failed(nodeid: str, loop: str, error_type: str, message: str, when: str = "call",
           **fixture_loops: str) -> list[dict]:
    return [{"event": "start", "nodeid": nodeid},
            {"event": "report", "nodeid": nodeid, "when": when, "outcome": "failed", "duration": 0.01,
             "error_type": error_type, "message": message, "chain": [], "frames": ["test_app.py:12 in test"]},
            {"event": "test", "nodeid": nodeid, "loops": {"setup": [loop], "call": [loop], "teardown": [loop]},
             "fixture_loops": fixture_loops, "passed": {}}]


def connect(conn: int, loop: str, nodeid: str, phase: str = "call", thread: str = "MainThread") -> dict:
    return {"event": "pool", "action": "connect", "conn": conn, "loop": loop, "nodeid": nodeid, "phase": phase,
            "thread": thread}


def crossing(conn: int, created_on: str, loop: str, nodeid: str, phase: str = "call") -> dict:
    return {"event": "pool", "action": "cross-loop-checkout", "conn": conn, "created_on": created_on, "loop": loop,
            "nodeid": nodeid, "phase": phase}


def fixture(nodeid: str, name: str, scope: str, loop: str) -> dict:
    return {"event": "fixture", "nodeid": nodeid, "fixture": name, "scope": scope, "loop": loop}


def classified(*groups, config: dict | None = None, exit_code: int | None = 1, project: Path | None = None,
               **run_options):
    events = [{**CONFIG, **(config or {})}]
    for group in groups:
        events += group if isinstance(group, list) else [group]
    run = run_of([json.dumps({"t": 0.0, **e}) for e in events] + [json.dumps({"event": "end"})], exit_code,
                 **run_options)
    return classify(run, "hand-made", project)


def test_a_scope_mismatch_on_the_loop_runner_alone_is_fixture_loop_scope_mismatch():
    message = ("ScopeMismatch: You tried to access the function scoped fixture _function_scoped_runner with a "
               "session scoped request object. Requesting fixture stack:\nconftest.py:7:  def engine()\n"
               "Requested fixture:\nplugin.py:1046:  def _scoped_runner(event_loop_policy, request)")
    diagnosis = classified(failed("test_a.py::test_a", "L1", "Failed", message, when="setup"))
    assert findings(diagnosis) == [("test_a.py::test_a", "setup", "fixture-loop-scope-mismatch", None)]
    assert any("conftest.py:7:  def engine()" in line for line in diagnosis.roots[0].evidence)


def test_a_scope_mismatch_on_a_user_fixture_is_not_a_loop_problem():
    message = ("ScopeMismatch: You tried to access the function scoped fixture tmp_path with a session scoped "
               "request object. Requesting fixture stack:\nconftest.py:7:  def data()")
    diagnosis = classified(failed("test_a.py::test_a", "L1", "Failed", message, when="setup"))
    assert [f.cause for f in diagnosis.findings] == ["unknown"]


def test_busy_after_a_different_loop_failure_on_the_same_connection_is_its_fallout():
    diagnosis = classified(
        passed("test_app.py::test_a", "L1"), connect(1, "L1", "test_app.py::test_a"),
        crossing(1, "L1", "L2", "test_app.py::test_b"),
        failed("test_app.py::test_b", "L2", "RuntimeError", DIFFERENT_LOOP),
        crossing(1, "L1", "L3", "test_app.py::test_c"),
        failed("test_app.py::test_c", "L3", "sqlalchemy.exc.InterfaceError", BUSY))
    assert findings(diagnosis) == [
        ("test_app.py::test_b", "call", "module-engine-per-test-loop", None),
        ("test_app.py::test_c", "call", "module-engine-per-test-loop", "test_app.py::test_b")]
    assert any("opened on L1" in line and "checked out on L2" in line for line in diagnosis.roots[0].evidence)


def test_busy_with_no_earlier_loop_failure_stays_unknown():
    diagnosis = classified(failed("test_app.py::test_c", "L1", "sqlalchemy.exc.InterfaceError", BUSY))
    assert findings(diagnosis) == [("test_app.py::test_c", "call", "unknown", None)]
    assert "another operation is in progress" in diagnosis.findings[0].evidence[0]


def test_busy_while_two_tasks_used_one_connection_is_a_shared_session():
    use = {"event": "pool", "action": "concurrent-use", "conn": 7, "nodeid": "test_app.py::test_many",
           "phase": "call", "loop": "L1", "tasks": ["Task-5", "Task-6"], "statement": "INSERT INTO users"}
    diagnosis = classified(use, failed("test_app.py::test_many", "L1", "sqlalchemy.exc.InterfaceError", BUSY))
    assert findings(diagnosis) == [("test_app.py::test_many", "call", "shared-session-gather", None)]
    assert any("Task-5 and Task-6" in line for line in diagnosis.roots[0].evidence)


def test_two_tasks_on_one_connection_in_a_passing_test_is_still_a_finding():
    use = {"event": "pool", "action": "concurrent-use", "conn": 7, "nodeid": "test_app.py::test_many",
           "phase": "call", "loop": "L1", "tasks": ["Task-5", "Task-6"], "statement": "SELECT 1"}
    diagnosis = classified(passed("test_app.py::test_many", "L1"), use, exit_code=0)
    assert findings(diagnosis) == [("test_app.py::test_many", "call", "shared-session-gather", None)]


def test_a_connection_opened_on_another_thread_is_the_testclient_loop():
    diagnosis = classified(
        connect(1, "L2", "test_api.py::test_a", thread="asyncio-portal-1"),
        crossing(1, "L2", "L1", "test_api.py::test_a", phase="setup"),
        failed("test_api.py::test_a", "L1", "RuntimeError", DIFFERENT_LOOP, when="setup"))
    assert findings(diagnosis) == [("test_api.py::test_a", "setup", "testclient-loop", None)]


@pytest.mark.parametrize("fixture_loop_scope, phase, cause", [
    (None, "call", "session-engine-function-loop"),       # no loop scope configured: the engine's loop is gone
    ("function", "call", "mixed-loop-scopes"),            # configured, yet scopes differ
    (None, "setup", "mixed-loop-scopes"),                 # a function fixture on the session fixture's connection
])
def test_a_connection_of_a_session_fixture_on_a_later_loop(fixture_loop_scope, phase, cause):
    diagnosis = classified(
        fixture("test_a.py::test_a", "engine", "session", "L1"), connect(1, "L1", "test_a.py::test_a", "setup"),
        passed("test_a.py::test_a", "L1", engine="L1"),
        crossing(1, "L1", "L2", "test_a.py::test_b", phase=phase),
        failed("test_a.py::test_b", "L2", "RuntimeError", DIFFERENT_LOOP, when=phase, engine="L1"),
        config={"asyncio_default_fixture_loop_scope": fixture_loop_scope})
    assert findings(diagnosis) == [("test_a.py::test_b", phase, cause, None)]
    assert any("fixture 'engine' (session scope) ran on L1" in line for line in diagnosis.roots[0].evidence)


@pytest.mark.parametrize("version, cause", [("1.2.0", "legacy-event-loop-override"),
                                            ("0.21.2", "module-engine-per-test-loop")])
def test_an_event_loop_fixture_in_the_project_is_named_only_where_pytest_asyncio_ignores_it(tmp_path, version, cause):
    (tmp_path / "conftest.py").write_text("import asyncio\nimport pytest\n\n\n@pytest.fixture(scope='session')\n"
                                          "def event_loop():\n    yield asyncio.new_event_loop()\n")
    diagnosis = classified(
        passed("test_a.py::test_a", "L1"), connect(1, "L1", "test_a.py::test_a"),
        crossing(1, "L1", "L2", "test_a.py::test_b"),
        failed("test_a.py::test_b", "L2", "RuntimeError", DIFFERENT_LOOP),
        config={"pytest-asyncio": version}, project=tmp_path)
    assert [f.cause for f in diagnosis.roots] == [cause]
    if cause == "legacy-event-loop-override":
        assert any("conftest.py:6 defines an event_loop fixture" in line for line in diagnosis.roots[0].evidence)


def test_event_loop_is_closed_only_logged_in_a_passing_run_is_loop_closed_dispose():
    log = {"event": "log", "nodeid": "test_a.py::test_a", "phase": "teardown", "logger": "sqlalchemy.pool.impl",
           "level": "ERROR", "message": "Exception closing connection", "error_type": "RuntimeError",
           "error_message": "Event loop is closed"}
    diagnosis = classified(passed("test_a.py::test_a", "L1"), log, exit_code=0)
    assert findings(diagnosis) == [("test_a.py::test_a", "teardown", "loop-closed-dispose", None)]


def test_rows_committed_after_a_joined_rollback_are_a_leak_even_when_tests_pass():
    rollback = {"event": "pool", "action": "joined-rollback", "nodeid": "test_a.py::test_a", "phase": "call",
                "mode": "conservative_savepoint", "is_async": True}
    commit = {"event": "pool", "action": "leaked-commit", "nodeid": "test_a.py::test_a", "phase": "call", "writes": 2}
    diagnosis = classified(passed("test_a.py::test_a", "L1"), rollback, commit, passed("test_a.py::test_b", "L2"),
                           exit_code=0)
    assert findings(diagnosis) == [("test_a.py::test_a", "call", "rollback-isolation-leak", None)]
    root = diagnosis.roots[0]
    assert "conservative_savepoint" in root.evidence[0] and "2 write statement(s) were committed" in root.evidence[1]
    assert root.confidence == "high" and "rows" in root.basis
    assert "AsyncSession(bind=conn" in root.fix


def test_a_joined_rollback_that_leaked_nothing_is_no_finding():
    """A library testing its own rollback: the session ends the outer transaction on purpose, commits nothing
    after, every test passes. The warning alone is not a leak (the green-suite false positive)."""
    rollback = {"event": "pool", "action": "joined-rollback", "nodeid": "test_a.py::test_a", "phase": "call",
                "mode": "conservative_savepoint", "is_async": False}
    warning = {"event": "warning", "nodeid": "test_a.py::test_a", "phase": "call", "category": "SAWarning",
               "message": "transaction already deassociated from connection"}
    diagnosis = classified(passed("test_a.py::test_a", "L1"), rollback, warning, passed("test_a.py::test_b", "L1"),
                           exit_code=0)
    assert diagnosis.findings == []


def test_a_sync_session_leak_gets_the_sync_fix():
    rollback = {"event": "pool", "action": "joined-rollback", "nodeid": "test_a.py::test_a", "phase": "call",
                "mode": "conservative_savepoint", "is_async": False}
    commit = {"event": "pool", "action": "leaked-commit", "nodeid": "test_a.py::test_a", "phase": "call", "writes": 1}
    diagnosis = classified(passed("test_a.py::test_a", "L1"), rollback, commit, exit_code=0)
    fix = diagnosis.roots[0].fix
    assert "Session(bind=conn" in fix and "AsyncSession(" not in fix, fix


@pytest.mark.parametrize("error_type, message, cause", [
    ("Failed", "'test_a' requested an async fixture 'db', with no plugin or hook that handled it",
     "strict-mode-async-fixture"),
    ("sqlalchemy.exc.MissingGreenlet", "greenlet_spawn has not been called; can't call await_() here",
     "expired-attribute-missing-greenlet"),
    ("AttributeError", "'State' object has no attribute 'sessionmaker'", "asgi-client-lifespan"),
    ("sqlalchemy.exc.InterfaceError", "(asyncpg.InterfaceError) connection is closed", "terminated-connection"),
    ("RuntimeError", "Event loop is closed", "loop-closed-dispose"),
    ("sqlalchemy.exc.InvalidRequestError", "This session is provisioning a new connection; concurrent operations "
     "are not permitted", "shared-session-gather"),
    ("ZeroDivisionError", "division by zero", "unknown"),
])
def test_an_error_that_names_its_cause_by_itself(error_type, message, cause):
    diagnosis = classified(failed("test_a.py::test_a", "L1", error_type, message))
    assert findings(diagnosis) == [("test_a.py::test_a", "call", cause, None)]


def test_a_passing_run_has_no_findings():
    diagnosis = classified(passed("test_a.py::test_a", "L1"), passed("test_a.py::test_b", "L2"), exit_code=0)
    assert diagnosis.findings == [] and (diagnosis.passed, diagnosis.failed, diagnosis.errors) == (2, 0, 0)


def _pool_made(pool: int, **where) -> dict:
    return {"event": "pool", "action": "pool-created", "pool": pool, "poolclass": "AsyncAdaptedQueuePool",
            "thread": "MainThread", **{"loop": None, "nodeid": None, "phase": None, "fixture": None, "scope": None,
                                       **where}}


@pytest.mark.parametrize("made, cause, says", [
    (None, "module-engine-per-test-loop", "before any test or fixture ran"),        # before the recorder: conftest
    (_pool_made(7), "module-engine-per-test-loop", "made at import"),
    (_pool_made(7, loop="L1", nodeid="test_a.py::test_a", phase="setup", fixture="engine", scope="session"),
     "mixed-loop-scopes", "made by fixture 'engine' (session scope), on L1"),  # fixture loop scope configured
])
def test_the_engine_is_named_where_it_was_made(made, cause, says):
    """The evidence follows the pool's owner, not the first fixture that happened to open a connection."""
    opened = {**connect(1, "L2", "test_a.py::test_a", "call"), "pool": 7}
    diagnosis = classified(*([made] if made else []), opened, passed("test_a.py::test_a", "L2"),
                           crossing(1, "L2", "L3", "test_a.py::test_b"),
                           failed("test_a.py::test_b", "L3", "RuntimeError", DIFFERENT_LOOP))
    root = diagnosis.roots[0]
    assert root.cause == cause and any(says in line for line in root.evidence), root.evidence
    assert root.confidence == "high" and "pool" in root.basis
    assert not any("created at import, or shared" in line for line in root.evidence)


@pytest.mark.parametrize("runners, cause, fits, never", [
    # under AnyIO's plugin a loop ends with its runner: the entry for that, with AnyIO's own fix
    ({"anyio": 2}, "anyio-runner-loop", "AnyIO", "asyncio_default_test_loop_scope"),
    ({"sync": 2}, "module-engine-per-test-loop", "drive their own loops", "asyncio_default_test_loop_scope"),
    ({"pytest-asyncio": 2}, "module-engine-per-test-loop", "asyncio_default_test_loop_scope", "AnyIO"),
])
def test_the_fix_fits_the_runner(runners, cause, fits, never):
    diagnosis = classified(connect(1, "L1", "test_a.py::test_a"), passed("test_a.py::test_a", "L1"),
                           crossing(1, "L1", "L2", "test_a.py::test_b"),
                           failed("test_a.py::test_b", "L2", "RuntimeError", DIFFERENT_LOOP),
                           config={"runners": runners})
    fix = diagnosis.roots[0].fix
    assert diagnosis.roots[0].cause == cause
    assert fits in fix and never not in fix, fix


def test_a_finding_on_the_message_alone_says_so():
    diagnosis = classified(failed("test_a.py::test_a", "L1", "sqlalchemy.exc.MissingGreenlet",
                                  "greenlet_spawn has not been called; can't call await_() here"))
    root = diagnosis.roots[0]
    assert (root.confidence, root.basis, root.why) == ("low", ["message"], "low: rests on the error message alone")


def _one_worker_created_the_tables(other_db: str, dropped: bool = True) -> list[dict]:
    """Merged xdist streams: gw0's session fixture 'engine' created the tables of app_test (and dropped them when
    gw0 ran out of tests); gw1's 'engine' opened its pool on ``other_db`` and, on app_test, found the tables
    already there (no DDL of its own); then gw1's slow test lost its table."""
    slow = "test_users.py::test_list_users"
    return [
        {"event": "pool", "action": "pool-created", "pool": "gw0:1", "loop": "gw0:L1", "fixture": "engine",
         "scope": "session", "db": "db:5432/app_test", "worker": "gw0", "nodeid": "test_users.py::test_a"},
        {"event": "pool", "action": "schema", "ddl": "create", "db": "db:5432/app_test", "fixture": "engine",
         "scope": "session", "worker": "gw0", "loop": "gw0:L1", "nodeid": "test_users.py::test_a", "phase": "setup"},
        {"event": "pool", "action": "pool-created", "pool": "gw1:1", "loop": "gw1:L1", "fixture": "engine",
         "scope": "session", "db": other_db, "worker": "gw1", "nodeid": slow},
        *passed("test_users.py::test_a", "gw0:L1", engine="gw0:L1"),
        *([{"event": "pool", "action": "schema", "ddl": "drop", "db": "db:5432/app_test", "fixture": None,
            "worker": "gw0", "loop": "gw0:L1", "nodeid": "test_users.py::test_a", "phase": "teardown"}]
          if dropped else []),
        *failed(slow, "gw1:L1", "sqlalchemy.exc.ProgrammingError", 'relation "users" does not exist',
                engine="gw1:L1"),
    ]


def test_a_worker_that_found_the_tables_already_there_shares_the_schema_through_its_fixture():
    diagnosis = classified(_one_worker_created_the_tables("db:5432/app_test"))
    assert findings(diagnosis) == [("test_users.py::test_list_users", "call", "xdist-shared-schema", None)]
    evidence = " ".join(diagnosis.findings[0].evidence)
    assert "ran in 2 xdist workers (gw0, gw1)" in evidence and "by gw0; gw1 found them already there" in evidence


def test_a_worker_whose_fixture_used_a_database_of_its_own_shares_no_schema():
    diagnosis = classified(_one_worker_created_the_tables("db:5432/app_test_gw1"))
    assert [f.cause for f in diagnosis.findings] == ["unknown"]


def test_a_worker_that_found_the_tables_shares_them_even_when_nobody_dropped_them():
    """The reference stages' shape: each worker's session fixture runs drop_all + create_all, one of them finds
    the tables already there, and each test's TRUNCATE then empties them under the other worker's test."""
    diagnosis = classified(_one_worker_created_the_tables("db:5432/app_test", dropped=False))
    assert [f.cause for f in diagnosis.findings] == ["xdist-shared-schema"]
