"""Root causes: the catalogue entry a failure shows by itself, and the problems a passing test hides.

A rule returns ``(cause, evidence lines, basis)``: the basis names the kinds of evidence the lines rest on
(``pool``, ``loops``, ``config``, ``source``, ``message``...), from which a finding's confidence follows.
Most rules match the error text; the "attached to a different loop" error needs more, because five entries
raise it (:func:`loop_cause` tells them apart from the pool,
fixture and configuration evidence). A failure no rule claims is left to :mod:`kit.diagnose.fallout`, which
decides whether an earlier root explains it or it stays ``unknown``.
"""

from __future__ import annotations

import re

from kit.common.text import one_line
from kit.diagnose.evidence import (
    BUSY,
    CONCURRENT,
    DEASSOCIATED,
    DIFFERENT_LOOP,
    GREENLET,
    LIFESPAN,
    LOOP_CLOSED,
    PENDING,
    RUNNING_LOOP,
    SCOPE_MISMATCH,
    STRICT,
    TERMINATED,
    Evidence,
    case_of,
    config_line,
    object_line,
    raw_evidence,
    runner_context,
    short,
    texts,
)
from kit.diagnose.model import UNKNOWN, Finding, new_finding
from kit.recorder.events import SCHEMA
from kit.run.runner import CaseResult, PytestRun
from kit.run.streams import lane

__all__ = ["LOOP_CAUSES", "root_rule", "loop_cause", "timeout_cause", "hung_phase", "rollback_leak",
           "silent_concurrency"]

Rule = tuple[str, list[str], list[str]]

# The entries whose failure is "a different loop": fallout (busy connections, logged errors) points to them.
LOOP_CAUSES = frozenset({"module-engine-per-test-loop", "session-engine-function-loop", "mixed-loop-scopes",
                         "legacy-event-loop-override", "testclient-loop", "testclient-per-test-pooled-engine",
                         "session-carried-across-loops", "anyio-runner-loop", "redis-client-per-test-loop",
                         "httpx-client-across-loops"})
_WIDE_SCOPES = ("session", "package", "module", "class")
# the library that opened an asyncio connection used on another loop -> its entry (others stay unknown, named)
_OBJECT_CAUSES = {"redis": "redis-client-per-test-loop", "httpcore": "httpx-client-across-loops",
                  "httpx": "httpx-client-across-loops"}
# database drivers under SQLAlchemy: its pool evidence (connect, checkout, held) speaks for their connections
_POOLED = frozenset({"asyncpg", "psycopg", "sqlalchemy"})


def root_rule(case: CaseResult, ev: Evidence) -> Rule | None:
    """The catalogue entry a failing case shows by itself, or None (secondary or unknown: decided later)."""
    text, config = texts(case), ev.run.config
    if case.outcome == "timeout":
        return timeout_cause(case, ev.run)
    if SCOPE_MISMATCH.search(text):
        stack = re.findall(r"^\S+:\d+:\s+def \w+\(.*?\)", case.message or "", re.M)
        return "fixture-loop-scope-mismatch", [
            "ScopeMismatch on pytest-asyncio's loop runner: a wider-scoped async fixture was asked to run on the "
            "function-scoped loop", *(f"requesting fixture: {line}" for line in stack[:2]), config_line(config)], \
            ["message", "config"]
    if RUNNING_LOOP.search(text) and config.get("running_loop"):
        return "notebook-running-loop", [
            f"pytest ran on thread {ev.session_thread}, where an event loop was already running "
            "(a Jupyter kernel's): pytest-asyncio cannot start a loop of its own there",
            one_line(case.message, 160)], ["config", "message"]
    if STRICT.search(text):
        return "strict-mode-async-fixture", [
            f"pytest-asyncio mode={config.get('asyncio_mode') or 'strict (default)'}: an async fixture or test "
            "was left to pytest, which cannot run it", one_line(case.message, 160)], ["message", "config"]
    if PENDING.search(f"{case.error_type}: {case.message}") and any(
            c.outcome in ("failed", "error") for c in ev.run.cases[:ev.order.get(case.nodeid, 0)]):
        return None  # the session still holds an earlier test's failure: fallout (see kit.diagnose.fallout)
    loopish = DIFFERENT_LOOP.search(text) or LOOP_CLOSED.search(text) or BUSY.search(text)
    if loopish and (rule := object_rule(case, ev)) is not None:
        return rule
    if loopish and ev.first_held(case) is not None and not any(e.get("nodeid") == case.nodeid for e in ev.cross):
        return carried_rule(case, ev)
    if DIFFERENT_LOOP.search(text):
        return loop_cause(case, ev)
    if LOOP_CLOSED.search(text):
        return "loop-closed-dispose", [
            "a connection was closed after the loop it was opened on had closed (asyncio.run() or a sync "
            "fixture disposing an engine used on pytest-asyncio's loop)",
            *(f"at {frame}" for frame in case.frames[-1:])], ["message"]
    if CONCURRENT.search(text):
        return "shared-session-gather", [
            "the session's own state machine refused a second operation while one was in progress: one "
            "AsyncSession used by concurrent tasks", *ev.concurrency_lines(case), *ev.concurrency_warnings(case)], \
            ["message", *(["tasks"] if ev.concurrency_lines(case) else [])]
    if BUSY.search(text) and (any(e.get("nodeid") == case.nodeid for e in ev.concurrent)
                              or ev.concurrency_warnings(case)):
        return "shared-session-gather", [
            "the connection was busy with another task's statement, in a run on one event loop",
            *ev.concurrency_lines(case), *ev.concurrency_warnings(case)], \
            ["message", "tasks" if ev.concurrency_lines(case) else "warning"]
    if GREENLET.search(text):
        return "expired-attribute-missing-greenlet", [
            "SQLAlchemy tried to load an attribute with I/O outside await (an expired or lazy attribute)",
            *(f"at {frame}" for frame in case.frames[-1:])], ["message"]
    if LIFESPAN.search(text):
        return "asgi-client-lifespan", [
            "the app's startup state is missing: httpx's ASGITransport does not run the lifespan"
            if "State" in text else "httpx 0.28 removed AsyncClient(app=...): use ASGITransport"], ["message"]
    # Its worker's tables were rebuilt under it by another worker: whatever the data error says (a missing row or
    # table, a duplicate key...), after the shapes above, which no shared table explains.
    shared = _shared_with(case, ev.shared_schemas())
    if shared:
        return shared_schema_rule(case, shared)
    if TERMINATED.search(text) and not any(e.get("nodeid") == case.nodeid for e in ev.cross):
        return "terminated-connection", [
            "a pooled connection was already closed on the server side when this test checked it out "
            "(no event-loop mismatch on it)", one_line(case.message, 160)], \
            ["message", *(["pool"] if ev.connects else [])]
    if short(case.error_type) == "timeout":
        return timeout_cause(case, ev.run)
    return None


# -- pytest-xdist ----------------------------------------------------------------------------------------
def _shared_with(case: CaseResult, shared: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The shared schemas this case's worker took part in (by its loops' lane, ``gw0`` / ``shard-2.gw0``); a
    case that ran no loop counts only in a run with no CI shards (its worker is then one of those)."""
    if not shared:
        return {}
    lanes = {lane(loop) for loops in case.loops.values() for loop in loops} - {""}
    if not lanes:
        return {} if any("." in (e.get("worker") or "") for found in shared.values() for e in found) else shared
    return {db: found for db, found in shared.items() if lanes & {e.get("worker") for e in found}}


def shared_schema_rule(case: CaseResult, shared: dict[str, list[dict]]) -> Rule:
    """Two xdist workers rebuilt the tables of one database: each ran its own session fixture there, so one
    worker's drop or create met the other's tables and data. Seen by the recorder, whatever the message."""
    lines = []
    for db, found in list(shared.items())[:1]:
        workers = sorted({e.get("worker") for e in found})
        ddl = sorted({e.get("worker") for e in found if e.get("action") == SCHEMA})
        fixtures = sorted({f"'{e.get('fixture')}' ({e.get('scope')} scope)" for e in found if e.get("fixture")})
        lines.append(f"the schema fixture of {db} ran in {len(workers)} xdist workers ({', '.join(workers)})"
                     + (f", fixture {', '.join(fixtures)}" if fixtures else "") + ": one database for every worker")
        lines.append(f"tables created or dropped there by {', '.join(ddl)}"
                     + (f"; {', '.join(w for w in workers if w not in ddl)} found them already there and created "
                        "none" if len(ddl) < len(workers) else ""))
    lines.append(f"{case.nodeid} failed on it: {one_line(f'{short(case.error_type)}: {case.message}', 140)}")
    return "xdist-shared-schema", lines, ["schema", "message"]


# -- loop-bound objects beyond the pool -----------------------------------------------------------------
def object_rule(case: CaseResult, ev: Evidence) -> Rule | None:
    """A client's connection (redis-py, httpx/httpcore, or any library's asyncio transport) that the recorder saw
    used or closed on a loop other than its own during this test. Database drivers are left to the pool rules."""
    event = ev.object_event(case, exclude=_POOLED)
    if event is None:
        return None
    cause = _OBJECT_CAUSES.get(event.get("library") or "", UNKNOWN)
    lines = [object_line(event)]
    if cause == UNKNOWN:
        return cause, [*raw_evidence(case), *lines], ["message", "objects"]
    opened_in = event.get("opened_nodeid")
    client = {"httpcore": "httpx"}.get(event.get("library") or "", event.get("library"))
    lines.append(f"the {client} client outlived the loop that opened its connection"
                 + (f" (the loop of {opened_in})" if opened_in and opened_in != case.nodeid else "")
                 + ": a client made at import or shared by tests keeps connections bound to a loop that has ended")
    return cause, lines, ["message", "objects"]


def carried_rule(case: CaseResult, ev: Evidence) -> Rule:
    """A connection held across loops without a pool checkout: one session (or connection) shared by tests that
    each run on their own loop. The pool's fixes (NullPool, dispose) would not help: the session holds it."""
    lines = ev.held_lines(case)
    settings = [config_line(ev.run.config)] if runner_context(ev.run.config) is None else []
    return "session-carried-across-loops", [*lines, *settings], ["message", "pool", *(["config"] if settings else [])]


# -- different-loop failures: which of the five entries ------------------------------------------------
def loop_cause(case: CaseResult, ev: Evidence) -> Rule:
    """Which of the five different-loop entries: who opened the connection (thread), where the engine that owns
    it was made (fixture and scope, or import), the loop scopes in force, and whether the suite relies on an
    ``event_loop`` override pytest-asyncio ignores. Every line says only what the recorder saw."""
    config = ev.run.config
    evidence: list[str] = []
    basis = ["message"]
    # pytest-asyncio's settings are evidence only where pytest-asyncio runs the tests (not under AnyIO's plugin)
    settings = [config_line(config)] if runner_context(config) is None else []
    crossing = next((e for e in ev.cross if e.get("nodeid") == case.nodeid and e.get("phase") == case.phase),
                    next((e for e in ev.cross if e.get("nodeid") == case.nodeid), None))
    test_loop = (case.loops.get(case.phase or "call") or case.loops.get("call") or [None])[-1]
    created = owner = origin = None
    if crossing is not None:
        basis.append("pool")
        created = crossing.get("created_on")
        connect = ev.connects.get(str(crossing.get("conn")), {})
        before = bool(connect.get("before_recording"))
        where = "before pytest started" if before else \
            f"{connect.get('phase') or '?'} of {connect.get('nodeid') or 'outside any test'}"
        evidence.append(f"pool: a connection opened on {created} ({where}) was checked out on {crossing.get('loop')} "
                        f"({crossing.get('phase')} of {case.nodeid})")
        thread, taken_in = connect.get("thread"), crossing.get("thread")
        origin = ev.pool_origin(connect)
        if before and thread == "MainThread" and ev.session_thread != "MainThread":
            evidence.append(f"{created} was running on thread 'MainThread' while pytest ran on thread "
                            f"'{ev.session_thread}': a Jupyter kernel's loop, where a cell awaited on the engine")
            return "notebook-kernel-engine", evidence, [*basis, "threads"]
        if thread and thread != ev.session_thread and not before:
            evidence.append(f"that connection was opened in thread '{thread}', on that thread's own event loop "
                            "(a sync TestClient runs the app on a portal thread)")
            if taken_in and taken_in != ev.session_thread and taken_in != thread:
                # portal thread to portal thread: one TestClient per test, each with its own loop, and an engine
                # that outlives them all (AsyncClient would not help: the pool would still cross the loops)
                evidence.append(f"and checked out in thread '{taken_in}', another TestClient's portal loop: the "
                                "engine's pool outlives each TestClient's loop")
                evidence += [origin.line] if origin is not None else []
                return "testclient-per-test-pooled-engine", evidence, [*basis, "threads"]
            return "testclient-loop", evidence, [*basis, "threads"]
        if origin is not None:
            evidence.append(origin.line)
            if origin.fixture:
                owner = {"fixture": origin.fixture, "scope": origin.scope, "loop": origin.loop}
        else:  # a recording without pool origins (older kit): the widest fixture that ran on that loop
            owner = ev.fixture_on(created, connect.get("nodeid"))
    elif any(e.get("nodeid") == case.nodeid for e in ev.held):
        return carried_rule(case, ev)
    else:
        # No pool evidence (raw asyncpg, or the failure was before any checkout): compare fixture and test loops.
        for name, loop in case.fixture_loops.items():
            if test_loop and loop != test_loop:
                created, owner = loop, {"fixture": name, "scope": ev.scope_of(name), "loop": loop}
                basis.append("loops")
                break
    used_on = crossing.get("loop") if crossing else test_loop
    if runner_context(config) == "anyio":
        # no pytest-asyncio loops here: a different loop means something outlived the loop of AnyIO's runner
        loops = {loop for c in ev.run.cases for used in c.loops.values() for loop in used}
        evidence.append(f"AnyIO's pytest plugin ran these tests on {len(loops)} loops: its runner closes its loop "
                        "once no test or async fixture holds it, and the next test gets a new one"
                        + (f"; the connection opened on {created} outlived it" if created else ""))
        return "anyio-runner-loop", evidence, [*basis, "loops"]
    if owner is not None and owner.get("scope") in _WIDE_SCOPES:
        if origin is None:
            evidence.append(f"fixture '{owner['fixture']}' ({owner.get('scope')} scope) ran on {created}")
        evidence.append(f"{case.nodeid} ran its {case.phase} on {used_on}")
        evidence += settings
        evidence += [f"also: {place} defines an event_loop fixture, which pytest-asyncio "
                     f"{config.get('pytest-asyncio') or ''} ignores" for place in ev.event_loop_overrides[:1]]
        basis += ["loops", *(["config"] if settings else [])]
        if config.get("asyncio_default_fixture_loop_scope") is None and case.phase != "setup":
            return "session-engine-function-loop", evidence, basis
        return "mixed-loop-scopes", evidence, basis
    overrides = ev.event_loop_overrides
    if overrides and (config.get("pytest-asyncio") or "0").split(".")[0] not in ("0",):
        evidence.append(f"{overrides[0]} defines an event_loop fixture: pytest-asyncio "
                        f"{config.get('pytest-asyncio')} never uses it, so each test still gets its own loop")
        evidence.append(config_line(config))
        return "legacy-event-loop-override", evidence, [*basis, "source", "config"]
    if crossing is not None and origin is None and (owner is None or owner.get("scope") == "function"):
        evidence.append("the connection outlived the test whose loop opened it (the recorder did not see where its "
                        "engine was made)")
    evidence += settings
    return "module-engine-per-test-loop", evidence, [*basis, *(["config"] if settings else [])]


# -- hangs ---------------------------------------------------------------------------------------------
def timeout_cause(case: CaseResult, run: PytestRun) -> Rule:
    """A run killed at its timeout: a leaked connection's locks when the hang dump shows a database wait."""
    dump = run.hang_dump or ""
    phase = hung_phase(run)
    lines = [f"the run was killed after {run.duration_s:.0f} s with {case.nodeid} still in "
             f"{phase or 'progress'} (the hang dump says where it waited)"]
    for line in dump.splitlines():
        if line.startswith("async generator"):
            frames = line.split(" awaiting ", 1)[-1].split(" <- ")
            mine = [f for f in frames if "site-packages" not in f and "/asyncio/" not in f]
            lines.append("waiting in " + " <- ".join(([frames[0]] if frames else []) + mine[-1:]))
        elif line.startswith("    awaiting ") and "site-packages" not in line and "/asyncio/" not in line:
            lines.append("task waiting in " + line.split("awaiting ", 1)[1].strip())
        elif line.startswith("connection still checked out"):
            lines.append(line.strip())
    lines = lines[:5]
    waits_on_db = re.search(r"asyncpg|sqlalchemy", dump) is not None
    leaked = "connection still checked out" in dump
    if leaked or waits_on_db:
        lines.append("a connection left checked out (idle in transaction) holds locks the waiting statement needs"
                     if leaked else "the hung task waits inside a database call")
        return "leaked-connection-hang", lines, ["hang-dump", *(["pool"] if leaked else [])]
    return UNKNOWN, lines, ["hang-dump"] if dump else ["message"]


def hung_phase(run: PytestRun) -> str | None:
    """The phase the hung test was in, from the hang dump's header."""
    match = re.search(r"kit: hung in .* \((setup|call|teardown)\)", run.hang_dump or "")
    return match.group(1) if match else None


# -- problems that need no failure ---------------------------------------------------------------------
def rollback_leak(run: PytestRun, ev: Evidence, findings: dict[str, Finding],
                  context: str | None = None) -> Finding | None:
    """Rollback-per-test isolation undone: a joined session ended the test's outer transaction, AND something
    shows it mattered: writes committed on that connection afterwards (rows that outlive the fixture's rollback),
    or a test failing on its data at or after that point. The warning alone proves nothing: a library that tests
    its own rollback behaviour raises it in a green suite. None without such evidence, or when the test already
    has a known cause."""
    marks = [(e.get("nodeid"), f"a session bound to the test's connection (join_transaction_mode={e.get('mode')}) "
                               f"rolled back the outer transaction during {e.get('phase')}", e.get("is_async"))
             for e in ev.joined_rollbacks]
    marks += [(w.get("nodeid"), f"SAWarning: {one_line(w.get('message'), 120)}", None)
              for w in ev.warnings if DEASSOCIATED.search(w.get("message") or "")]
    marks = [m for m in marks if m[0] and m[0] != "None"]
    if not marks:
        return None
    order = ev.order
    for nodeid in dict.fromkeys(m[0] for m in marks):
        existing = findings.get(nodeid)
        if existing is not None and existing.cause != UNKNOWN:
            continue
        leaked = [e for e in ev.leaked_commits if e.get("nodeid") == nodeid]
        here = order.get(nodeid, -1)
        hurt = [c for c in run.cases if order.get(c.nodeid, -2) >= here and c.outcome in ("failed", "error")
                and short(c.error_type) == "AssertionError"]
        if not leaked and not hurt:
            continue
        evidence = list(dict.fromkeys(m[1] for m in marks if m[0] == nodeid))
        basis = ["pool", "warning"] if any(e.get("nodeid") == nodeid for e in ev.joined_rollbacks) else ["warning"]
        if leaked:
            writes = sum(int(e.get("writes") or 0) for e in leaked)
            evidence.append(f"then {writes} write statement(s) were committed on that connection ({len(leaked)} "
                            "COMMIT(s)): rows that outlive the fixture's rollback")
            basis.append("rows")
        if hurt:
            evidence.append(f"{hurt[0].nodeid} failed on its data afterwards ({short(hurt[0].error_type)}: "
                            f"{one_line(hurt[0].message, 80)})")
        sync = any(m[0] == nodeid and m[2] is False for m in marks)
        case = case_of(run, nodeid)
        finding = new_finding(case, "rollback-isolation-leak", evidence, phase=case.phase or "call", basis=basis,
                              context="sync-session" if sync else context)
        if case.outcome == "passed":  # nothing raised: show the warning, if there was one, as its error
            warned = next((w for w in ev.warnings if w.get("nodeid") == nodeid
                           and DEASSOCIATED.search(w.get("message") or "")), None)
            finding.error_type = warned.get("category") if warned else None
            finding.message = one_line(warned.get("message"), 200) if warned else None
        return finding
    return None


def silent_concurrency(run: PytestRun, ev: Evidence, findings: dict[str, Finding],
                       context: str | None = None) -> list[Finding]:
    """One finding per test (without one yet) in which the recorder saw a connection used by two tasks at once."""
    found: dict[str, Finding] = {}
    for event in ev.concurrent:
        nodeid = event.get("nodeid") or ""
        if nodeid and nodeid not in findings and nodeid not in found:
            case = case_of(run, nodeid)
            found[nodeid] = new_finding(case, "shared-session-gather", [
                "nothing failed, but one connection (one AsyncSession) was used by two tasks at once; it passes "
                "only while the pool is warm", *ev.concurrency_lines(case)], phase=event.get("phase"),
                basis=["tasks"], context=context)
    return list(found.values())
