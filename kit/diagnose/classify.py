"""``kit diagnose``: run someone's own suite with kit's recorder and name what went wrong, from the evidence.

Running is one call (:func:`diagnose`); classifying is a set of pure functions on a :class:`PytestRun`
(:func:`classify`), so every rule can be tested on recorded runs. The rules read what the recorder saw, not
just the exception text, because five catalogue entries share the same "attached to a different loop" error:
the loop a pooled connection was opened on (and by which fixture, in which thread), the loop that checked it
out, the pytest-asyncio configuration, fixture scopes, exception chains, logs and warnings.

Each failure becomes a :class:`Finding` whose cause is a catalogue id, or ``unknown`` with its raw error
(never forced into an entry). A failure that an earlier one caused (the busy connection a different-loop
error left behind, pytest's bare ``AssertionError`` after a fixture-setup failure) is ``secondary`` and names
its ``root``. Some problems never fail a test (a session that rolled back the test's outer transaction, a
session used by two tasks at once, "Event loop is closed" only logged): they are findings too.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kit.errors import DiagnoseError
from kit.common.text import one_line
from kit.run.runner import CaseResult, PytestRun

__all__ = ["Finding", "Diagnosis", "classify", "diagnose", "findings_frame", "render_text",
           "check_suite_path", "UNKNOWN", "DEFAULT_TIMEOUT"]

UNKNOWN = "unknown"
DEFAULT_TIMEOUT = 600.0
_UNKNOWN_FIX = ("kit cannot match this failure to a catalogue entry. Read the error and its frames below; "
                "`kit scenarios list` shows the conflicts kit knows, and the first failing test usually shows the cause.")
_IGNORED_DIRS = {".git", ".venv", "venv", "env", "node_modules", "__pycache__", ".tox", ".nox", "site-packages"}



@dataclass
class Finding:
    nodeid: str
    phase: str
    cause: str                       # catalogue id or "unknown"
    secondary: bool
    error_type: str | None
    message: str | None
    evidence: list[str] = field(default_factory=list)
    fix: str = ""
    root: str | None = None          # for a secondary: the nodeid of the root finding

    def as_dict(self) -> dict:
        data = asdict(self)
        if not self.secondary:
            data.pop("root")
        return data


@dataclass
class Diagnosis:
    suite: str
    passed: int
    failed: int
    errors: int
    config: dict
    findings: list[Finding]
    run: PytestRun | None = field(default=None, repr=False)
    database_gone: str | None = None   # set when the server stopped answering during the run
    advice: list = field(default_factory=list)  # kit.diagnose.advisor.Advice: what breaks on the next release lines

    @property
    def roots(self) -> list[Finding]:
        return [f for f in self.findings if not f.secondary]

    def as_dict(self) -> dict:
        return {"suite": self.suite, "passed": self.passed, "failed": self.failed, "errors": self.errors,
                "config": self.config, "findings": [f.as_dict() for f in self.findings],
                "advice": [a.as_dict() for a in self.advice]}


# -- the evidence a run holds ---------------------------------------------------------------------
_DIFFERENT_LOOP = re.compile(r"attached to a different loop|different event loop|is bound to a different event loop")
_BUSY = re.compile(r"another operation is in progress")
_LOOP_CLOSED = re.compile(r"Event loop is closed")
_NEVER_RETRIEVED = re.compile(r"never retrieved|unknown protocol state")
_SCOPE_MISMATCH = re.compile(r"ScopeMismatch.*_(function|class|module|package|session)_scoped_runner", re.S)
_STRICT = re.compile(r"requested an async fixture|'async_generator' object has no attribute|'coroutine' object has no "
                     r"attribute|async def functions are not natively supported")
_CONCURRENT = re.compile(r"concurrent operations are not permitted|provisioning a new connection|Session is already "
                         r"flushing|can't be called here; "
                         r"method '\w+\(\)' is already in progress|not currently supported within the execution stage")
_GREENLET = re.compile(r"greenlet_spawn has not been called|requires that the Python 'greenlet' library")
_LIFESPAN = re.compile(r"'State' object has no attribute|unexpected keyword argument 'app'")
_TERMINATED = re.compile(r"connection is closed|connection was closed in the middle of operation|"
                         r"terminating connection due to administrator command")
_DEASSOCIATED = re.compile(r"transaction already deassociated from connection")
_EVENT_LOOP_FIXTURE = re.compile(r"^\s*def\s+event_loop\s*\(", re.M)


def _short(error_type: str | None) -> str:
    return (error_type or "").rsplit(".", 1)[-1]


def _texts(case: CaseResult) -> str:
    """The case's first error and its exception chain, as one searchable text (later phases' errors, such as
    a teardown failing on the same busy connection, are fallout of the first and must not decide its cause)."""
    parts = [f"{case.error_type}: {case.message}"]
    parts += [f"{c.get('type')}: {c.get('message')}" for c in case.chain]
    return "\n".join(p for p in parts if p)


def _config_line(config: dict) -> str:
    def show(key: str) -> str:
        return config.get(key) or "unset"

    return (f"pytest-asyncio {config.get('pytest-asyncio') or '?'}: mode={show('asyncio_mode')}, "
            f"asyncio_default_fixture_loop_scope={show('asyncio_default_fixture_loop_scope')}, "
            f"asyncio_default_test_loop_scope={show('asyncio_default_test_loop_scope')}")


@dataclass
class _Evidence:
    """Indexes over a run's events, built once per classification."""

    run: PytestRun
    connects: dict = field(default_factory=dict)       # conn -> connect event
    cross: list = field(default_factory=list)          # cross-loop-checkout events
    concurrent: list = field(default_factory=list)
    joined_rollbacks: list = field(default_factory=list)
    fixtures: list = field(default_factory=list)       # fixture events
    logs: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    @classmethod
    def of(cls, run: PytestRun) -> _Evidence:
        found = cls(run)
        for event in run.events:
            kind, action = event.get("event"), event.get("action")
            if kind == "pool" and action == "connect":
                found.connects.setdefault(str(event.get("conn")), event)
            elif kind == "pool" and action == "cross-loop-checkout":
                found.cross.append(event)
            elif kind == "pool" and action == "concurrent-use":
                found.concurrent.append(event)
            elif kind == "pool" and action == "joined-rollback" and event.get("phase") in ("setup", "call"):
                found.joined_rollbacks.append(event)
            elif kind == "fixture":
                found.fixtures.append(event)
            elif kind == "log":
                found.logs.append(event)
            elif kind == "warning":
                found.warnings.append(event)
        return found

    def fixture_on(self, loop: str, nodeid: str | None = None) -> dict | None:
        """The widest-scoped fixture that ran on ``loop`` (preferring those of ``nodeid``)."""
        order = {"session": 0, "package": 1, "module": 2, "class": 3, "function": 4}
        candidates = [f for f in self.fixtures if f.get("loop") == loop]
        candidates.sort(key=lambda f: (f.get("nodeid") != nodeid, order.get(f.get("scope"), 5)))
        return candidates[0] if candidates else None

    def scope_of(self, fixture: str) -> str | None:
        return next((f.get("scope") for f in self.fixtures if f.get("fixture") == fixture), None)


def _fix(cause: str) -> str:
    if cause == UNKNOWN:
        return _UNKNOWN_FIX
    from kit.catalogue.scenario import get_scenario

    return " ".join(get_scenario(cause).fix.split())


def _finding(case: CaseResult, cause: str, evidence: list[str], *, phase: str | None = None,
             root: str | None = None) -> Finding:
    return Finding(case.nodeid, phase or case.phase or "call", cause, root is not None, case.error_type,
                   case.message, evidence, _fix(cause), root)


# -- different-loop failures: which of the five entries ------------------------------------------------
def _loop_cause(case: CaseResult, ev: _Evidence, project: Path | None) -> tuple[str, list[str]]:
    config = ev.run.config
    evidence: list[str] = []
    crossing = next((e for e in ev.cross if e.get("nodeid") == case.nodeid and e.get("phase") == case.phase),
                    next((e for e in ev.cross if e.get("nodeid") == case.nodeid), None))
    test_loop = (case.loops.get(case.phase or "call") or case.loops.get("call") or [None])[-1]
    created = owner = None
    if crossing is not None:
        created = crossing.get("created_on")
        connect = ev.connects.get(str(crossing.get("conn")), {})
        where = f"{connect.get('phase') or '?'} of {connect.get('nodeid') or 'outside any test'}"
        evidence.append(f"pool: a connection opened on {created} ({where}) was checked out on {crossing.get('loop')} "
                        f"({crossing.get('phase')} of {case.nodeid})")
        thread = connect.get("thread")
        if thread and thread != "MainThread":
            evidence.append(f"that connection was opened in thread '{thread}', on that thread's own event loop "
                            "(a sync TestClient runs the app on a portal thread)")
            return "testclient-loop", evidence
        owner = ev.fixture_on(created, connect.get("nodeid"))
    else:
        # No pool evidence (raw asyncpg, or the failure was before any checkout): compare fixture and test loops.
        for name, loop in case.fixture_loops.items():
            if test_loop and loop != test_loop:
                created, owner = loop, {"fixture": name, "scope": ev.scope_of(name), "loop": loop}
                break
    if owner is not None and owner.get("scope") in ("session", "package", "module", "class"):
        evidence.append(f"fixture '{owner['fixture']}' ({owner.get('scope')} scope) ran on {created}; "
                        f"{case.nodeid} ran its {case.phase} on {crossing.get('loop') if crossing else test_loop}")
        evidence.append(_config_line(config))
        evidence += [f"also: {place} defines an event_loop fixture, which pytest-asyncio "
                     f"{config.get('pytest-asyncio') or ''} ignores" for place in _event_loop_overrides(project)[:1]]
        if config.get("asyncio_default_fixture_loop_scope") is None and case.phase != "setup":
            return "session-engine-function-loop", evidence
        return "mixed-loop-scopes", evidence
    overrides = _event_loop_overrides(project)
    if overrides and (config.get("pytest-asyncio") or "0").split(".")[0] not in ("0",):
        evidence.append(f"{overrides[0]} defines an event_loop fixture: pytest-asyncio "
                        f"{config.get('pytest-asyncio')} never uses it, so each test still gets its own loop")
        evidence.append(_config_line(config))
        return "legacy-event-loop-override", evidence
    if crossing is not None and (owner is None or owner.get("scope") == "function"):
        evidence.append("the connection outlived the test whose loop opened it: a pooled engine that is not "
                        "per-test (created at import, or shared through a dependency override) keeps it across tests")
    evidence.append(_config_line(config))
    return "module-engine-per-test-loop", evidence


def _event_loop_overrides(project: Path | None) -> list[str]:
    """``conftest.py:12``-style places where the project defines its own ``event_loop`` fixture."""
    if project is None or not project.is_dir():
        return []
    found = []
    for path in sorted(project.rglob("*.py")):
        if _IGNORED_DIRS.intersection(path.relative_to(project).parts) or not (
                path.name == "conftest.py" or path.name.startswith("test")):
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        match = _EVENT_LOOP_FIXTURE.search(text)
        if match:
            found.append(f"{path.relative_to(project)}:{text.count(chr(10), 0, match.start()) + 1}")
    return found


# -- the rules -----------------------------------------------------------------------------------------
def _root_rule(case: CaseResult, ev: _Evidence, project: Path | None) -> tuple[str, list[str]] | None:
    """The catalogue entry a failing case shows by itself, or None (secondary or unknown: decided later)."""
    text, config = _texts(case), ev.run.config
    if case.outcome == "timeout":
        return _timeout_cause(case, ev.run)
    if _SCOPE_MISMATCH.search(text):
        stack = re.findall(r"^\S+:\d+:\s+def \w+\(.*?\)", case.message or "", re.M)
        return "fixture-loop-scope-mismatch", [
            "ScopeMismatch on pytest-asyncio's loop runner: a wider-scoped async fixture was asked to run on the "
            "function-scoped loop", *(f"requesting fixture: {line}" for line in stack[:2]), _config_line(config)]
    if _STRICT.search(text):
        return "strict-mode-async-fixture", [
            f"pytest-asyncio mode={config.get('asyncio_mode') or 'strict (default)'}: an async fixture or test "
            "was left to pytest, which cannot run it", one_line(case.message, 160)]
    if _DIFFERENT_LOOP.search(text):
        return _loop_cause(case, ev, project)
    if _LOOP_CLOSED.search(text):
        return "loop-closed-dispose", [
            "a connection was closed after the loop it was opened on had closed (asyncio.run() or a sync "
            "fixture disposing an engine used on pytest-asyncio's loop)", *(f"at {frame}" for frame in case.frames[-1:])]
    if _CONCURRENT.search(text):
        return "shared-session-gather", [
            "the session's own state machine refused a second operation while one was in progress: one "
            "AsyncSession used by concurrent tasks", *_concurrency_lines(case, ev), *_concurrency_warnings(case, ev)]
    if _BUSY.search(text) and (any(e.get("nodeid") == case.nodeid for e in ev.concurrent) or _concurrency_warnings(case, ev)):
        return "shared-session-gather", [
            "the connection was busy with another task's statement, in a run on one event loop",
            *_concurrency_lines(case, ev), *_concurrency_warnings(case, ev)]
    if _GREENLET.search(text):
        return "expired-attribute-missing-greenlet", [
            "SQLAlchemy tried to load an attribute with I/O outside await (an expired or lazy attribute)",
            *(f"at {frame}" for frame in case.frames[-1:])]
    if _LIFESPAN.search(text):
        return "asgi-client-lifespan", [
            "the app's startup state is missing: httpx's ASGITransport does not run the lifespan"
            if "State" in text else "httpx 0.28 removed AsyncClient(app=...): use ASGITransport"]
    if _TERMINATED.search(text) and not any(e.get("nodeid") == case.nodeid for e in ev.cross):
        return "terminated-connection", [
            "a pooled connection was already closed on the server side when this test checked it out "
            "(no event-loop mismatch on it)", one_line(case.message, 160)]
    if _short(case.error_type) == "timeout":
        return _timeout_cause(case, ev.run)
    return None


def _concurrency_warnings(case: CaseResult, ev: _Evidence) -> list[str]:
    return [f"{w.get('category')}: {one_line(w.get('message'), 110)}" for w in ev.warnings
            if w.get("nodeid") == case.nodeid and _CONCURRENT.search(w.get("message") or "")][:1]


def _concurrency_lines(case: CaseResult, ev: _Evidence) -> list[str]:
    return [f"connection used by tasks {' and '.join(e.get('tasks') or [])} at once ({e.get('phase')}): "
            f"{one_line(e.get('statement'), 80)}" for e in ev.concurrent if e.get("nodeid") == case.nodeid][:2]


def _timeout_cause(case: CaseResult, run: PytestRun) -> tuple[str, list[str]]:
    dump = run.hang_dump or ""
    phase = _hung_phase(run)
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
        return "leaked-connection-hang", lines
    return UNKNOWN, lines


def _hung_phase(run: PytestRun) -> str | None:
    match = re.search(r"kit: hung in .* \((setup|call|teardown)\)", run.hang_dump or "")
    return match.group(1) if match else None


def classify(run: PytestRun, suite: str = "", project: Path | None = None) -> Diagnosis:
    """Turn a recorded run into findings. ``project`` (the suite's directory) lets kit read its sources for
    the one thing the recorder cannot see: an ``event_loop`` fixture that pytest-asyncio ignores."""
    ev = _Evidence.of(run)
    failing = [c for c in run.cases if c.outcome in ("failed", "error", "timeout")]
    findings: dict[str, Finding] = {}
    roots: list[Finding] = []

    # 1. roots: failures that show their cause by themselves
    for case in failing:
        rule = _root_rule(case, ev, project)
        if rule is not None:
            phase = _hung_phase(run) if case.outcome == "timeout" else None
            finding = _finding(case, rule[0], rule[1], phase=phase or case.phase)
            if case.outcome == "timeout":
                finding.error_type, finding.message = "timeout", case.message
            findings[case.nodeid] = finding
            roots.append(finding)

    # 2. silent problems the evidence shows, even in passing tests
    _rollback_findings(run, ev, findings, roots)
    for event in ev.concurrent:
        nodeid = event.get("nodeid") or ""
        if nodeid and nodeid not in findings:
            case = _case(run, nodeid)
            finding = _finding(case, "shared-session-gather", [
                "nothing failed, but one connection (one AsyncSession) was used by two tasks at once; it passes "
                "only while the pool is warm", *_concurrency_lines(case, ev)], phase=event.get("phase"))
            findings[nodeid] = finding
            roots.append(finding)

    loop_roots = [f for f in roots if f.cause in _LOOP_CAUSES]
    # 3. fallout: failures an earlier (or, for TestClient, a sibling) root explains
    for case in failing:
        if case.nodeid in findings:
            continue
        root, cause, evidence = _secondary_of(case, ev, roots, loop_roots)
        findings[case.nodeid] = (_finding(case, cause, evidence, root=root.nodeid) if root is not None
                                 else _finding(case, UNKNOWN, _raw_evidence(case)))

    # 4. logged-only errors: fallout of a loop root, or a finding of their own
    extra = _log_findings(run, ev, findings, loop_roots)
    ordered = [findings[c.nodeid] for c in run.cases if c.nodeid in findings] + extra
    return Diagnosis(suite, run.count("passed"), run.count("failed"), run.count("error") + run.count("timeout"),
                     run.config, ordered, run)


_LOOP_CAUSES = {"module-engine-per-test-loop", "session-engine-function-loop", "mixed-loop-scopes",
                "legacy-event-loop-override", "testclient-loop"}


def _case(run: PytestRun, nodeid: str) -> CaseResult:
    return next((c for c in run.cases if c.nodeid == nodeid), CaseResult(nodeid))


def _raw_evidence(case: CaseResult) -> list[str]:
    lines = [f"{case.error_type or 'error'} at {case.phase or '?'}: {one_line(case.message, 200)}"]
    lines += [f"caused by {c.get('type')}: {one_line(c.get('message'), 160)}" for c in case.chain[:2]]
    if case.frames:
        lines.append("frames: " + " > ".join(case.frames[-3:]))
    return lines


def _rollback_findings(run: PytestRun, ev: _Evidence, findings: dict, roots: list) -> None:
    """Rollback-per-test isolation undone: a joined session ended the test's outer transaction."""
    marks = [(e.get("nodeid"), e.get("phase"), f"a session bound to the test's connection "
              f"(join_transaction_mode={e.get('mode')}) rolled back the outer transaction during {e.get('phase')}")
             for e in ev.joined_rollbacks]
    marks += [(w.get("nodeid"), w.get("phase"), f"SAWarning: {one_line(w.get('message'), 120)}")
              for w in ev.warnings if _DEASSOCIATED.search(w.get("message") or "")]
    marks = [m for m in marks if m[0] and m[0] != "None"]
    if not marks:
        return
    nodeid = marks[0][0]
    case = _case(run, nodeid)
    evidence = list(dict.fromkeys(m[2] for m in marks if m[0] == nodeid))
    evidence.append("rows the app committed afterwards are real commits: they outlive the fixture's rollback")
    existing = findings.get(nodeid)
    if existing is not None and existing.cause != UNKNOWN:
        return
    finding = _finding(case, "rollback-isolation-leak", evidence, phase=case.phase or "call")
    if case.outcome == "passed":
        finding.error_type, finding.message = "SAWarning" if "SAWarning" in evidence[0] else None, None
    findings[nodeid] = finding
    roots.append(finding)


def _secondary_of(case: CaseResult, ev: _Evidence, roots: list[Finding], loop_roots: list[Finding]):
    """(root, cause, evidence) when an earlier failure explains this one, else (None, None, None)."""
    order = {c.nodeid: i for i, c in enumerate(ev.run.cases)}
    here = order.get(case.nodeid, 0)
    text = _texts(case)
    earlier = [r for r in roots if order.get(r.nodeid, -1) <= here]
    # pytest's bare assert in FixtureDef.execute after a fixture failed to set up
    if _short(case.error_type) == "AssertionError" and not (case.message or "").strip() and case.phase == "setup":
        root = next((r for r in earlier if r.cause in ("fixture-loop-scope-mismatch", "strict-mode-async-fixture")), None)
        if root is not None:
            return root, root.cause, [f"a bare AssertionError from pytest's fixture machinery: the fixture failed to "
                                      f"set up in {root.nodeid} and is left half-initialised"]
    # the busy connection a different-loop failure left behind
    if _BUSY.search(text) or _NEVER_RETRIEVED.search(text) or _TERMINATED.search(text):
        crossing = [e for e in ev.cross if e.get("nodeid") == case.nodeid]
        root = _loop_root_for(crossing, ev, loop_roots, order, here)
        if root is not None:
            lines = [f"connection opened on {crossing[0].get('created_on')} checked out again on "
                     f"{crossing[0].get('loop')}" if crossing else "no pool evidence for this test"]
            lines.append(f"fallout of {root.nodeid}: its different-loop failure left the connection marked busy")
            return root, root.cause, lines
    # the TestClient's unused override: the app's own session cannot see the seeded rows
    tc = next((r for r in loop_roots if r.cause == "testclient-loop"), None)
    if tc is not None and any(e.get("nodeid") == case.nodeid and e.get("thread") not in (None, "MainThread")
                              for e in ev.connects.values()):
        return tc, tc.cause, ["this test's request opened its own connection on the TestClient's portal loop: the "
                              "app did not use the test's session (a dependency override that never applies)"]
    # rows that leaked past a rollback-per-test fixture
    leak = next((r for r in roots if r.cause == "rollback-isolation-leak"), None)
    if leak is not None and _short(case.error_type) == "AssertionError" and order.get(leak.nodeid, 0) <= here:
        return leak, leak.cause, [f"an assertion on data after {leak.nodeid} ended the test's outer transaction: "
                                  "its commits leaked into this test"]
    return None, None, None


def _loop_root_for(crossing: list[dict], ev: _Evidence, loop_roots: list[Finding], order: dict, here: int):
    conns = {str(e.get("conn")) for e in crossing}
    for root in loop_roots:
        if any(str(e.get("conn")) in conns for e in ev.cross if e.get("nodeid") == root.nodeid):
            return root
    return next((r for r in loop_roots if order.get(r.nodeid, -1) <= here), loop_roots[0] if loop_roots else None)


def _log_findings(run: PytestRun, ev: _Evidence, findings: dict, loop_roots: list[Finding]) -> list[Finding]:
    """Errors only logged ('Event loop is closed', 'Future exception was never retrieved')."""
    extra: list[Finding] = []
    for log in ev.logs:
        text = f"{log.get('message')}\n{log.get('error_type')}: {log.get('error_message')}"
        if not (_LOOP_CLOSED.search(text) or _NEVER_RETRIEVED.search(text)):
            continue
        nodeid = log.get("nodeid") or "(session)"
        case = CaseResult(nodeid, phase=log.get("phase") or "log", error_type=log.get("error_type"),
                          message=one_line(text, 300))
        line = f"logged by {log.get('logger')}: {one_line(log.get('message'), 100)} ({log.get('error_message')})"
        if loop_roots:
            root = loop_roots[0]
            extra.append(_finding(case, root.cause, [line, f"fallout of {root.nodeid}: a connection bound to another "
                                                           "loop could not be closed cleanly"], root=root.nodeid))
        elif _LOOP_CLOSED.search(text) and not any(f.cause == "loop-closed-dispose" for f in extra):
            extra.append(_finding(case, "loop-closed-dispose", [
                line, "a pooled connection outlived the loop it was opened on and was closed from another loop; "
                      "the test still passed"]))
    return extra


# -- running -------------------------------------------------------------------------------------------
def check_suite_path(path: Path) -> Path:
    """The suite directory, or a :class:`DiagnoseError` that says what is wrong with it."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DiagnoseError(f"There is no directory '{path}'. Pass the root of the project whose tests you want "
                            "diagnosed (the directory holding pytest.ini/pyproject.toml and the tests).")
    if not path.is_dir():
        raise DiagnoseError(f"'{path}' is a file; pass the project directory that holds it (kit runs pytest "
                            "there, with the project's own configuration), and test selections after `--`.")
    return path.resolve()


def _bad_run(run: PytestRun, path: Path) -> None:
    """Raise a paragraph for runs that never got to the tests: nothing collected, or collection errors."""
    output = run.output or ""
    conftest = re.search(r"ImportError while loading conftest '([^']+)'", output)
    located = re.findall(r'File "([^"]+)", line (\d+)', output)
    last_error = re.findall(r"^E\s+(\w+(?:Error|Exception)\b.*)$", output, re.M)
    if conftest:
        where = f"{located[-1][0]}, line {located[-1][1]}" if located else conftest.group(1)
        raise DiagnoseError(f"pytest could not load {conftest.group(1)}: {last_error[-1] if last_error else 'import error'} "
                            f"({where}). No test ran. Fix that file (run `python -m pytest --collect-only` in "
                            f"{path} to see the full error) and diagnose again.")
    collect = [c for c in run.cases if c.phase == "collect"]
    ran = [c for c in run.cases if c.phase != "collect"]
    if collect and not ran:
        first = collect[0]
        where = re.findall(r'File "([^"]+)", line (\d+)', first.message or "")
        place = f" ({where[-1][0]}, line {where[-1][1]})" if where else ""
        raise DiagnoseError(f"pytest could not collect {first.nodeid or 'the suite'}: {first.error_type}{place}. "
                            f"No test ran ({len(collect)} collection error(s)). Fix the import or syntax error "
                            f"(`python -m pytest --collect-only` in {path} shows it in full) and diagnose again.")
    if run.exit_code == 5 or (run.outcome != "timeout" and not run.cases):
        if run.exit_code in (0, 5) or run.exit_code is None or "no tests ran" in output:
            raise DiagnoseError(f"pytest found no tests in {path}. Is it a pytest project? Pass the directory that "
                                "holds the tests (test_*.py files) and their conftest.py, or select tests after `--`.")
        tail = one_line(output[-600:], 600)
        raise DiagnoseError(f"pytest stopped before running any test in {path} (exit code {run.exit_code}): {tail}")


def diagnose(path: Path, database_url: str | None = None, *, args: tuple[str, ...] | list[str] = (),
             timeout: float = DEFAULT_TIMEOUT) -> Diagnosis:
    """Run the suite at ``path`` (cwd=path) with kit's recorder, ``DATABASE_URL`` set to ``database_url``
    when given (else the caller's environment), and classify what it recorded."""
    from kit.run.runner import run_pytest

    project = check_suite_path(path)
    run = run_pytest(project, database_url, args=tuple(args), timeout=timeout, cwd=project)
    _bad_run(run, project)
    diagnosis = classify(run, str(project), project)
    diagnosis.advice = _advice(project, run)
    return diagnosis


def _advice(project: Path, run: PytestRun) -> list:
    """The upgrade advisor's view of this suite, backed by the latest recorded ``kit matrix`` run."""
    from kit.diagnose.advisor import advise
    from kit.common.versions import collect_versions

    return advise(project, run.config, {**collect_versions(), **{k: v for k, v in run.config.items() if v}})


def run_diagnosis(path: Path, url: str | None = None, *, args=(), timeout: float = DEFAULT_TIMEOUT,
                  allow_any_database: bool = False) -> Diagnosis:
    """The CLI's and notebook's entry point: pick the database the way ``kit diagnose`` documents it.

    ``DATABASE_URL`` already set (and no ``url``): used as is, nothing created. ``url`` or the embedded server:
    a fresh scratch database on that server, exported as ``DATABASE_URL`` for the run, dropped afterwards.
    """
    import os

    from kit.db.target import reachable, resolve_target, scratch_database

    project = check_suite_path(path)
    target = resolve_target(url, allow_any_database=allow_any_database)
    if url is None and os.environ.get("DATABASE_URL"):
        diagnosis = diagnose(project, None, args=args, timeout=timeout)
    else:
        with scratch_database(target, f"diagnose_{project.name}") as scratch:
            diagnosis = diagnose(project, scratch.url, args=args, timeout=timeout)
    if (diagnosis.failed or diagnosis.errors) and not reachable(target):
        diagnosis.database_gone = (
            f"The database went away during the run ({target.masked} stopped answering): the failures after "
            "that point are its fallout, not findings about your suite. Check the server (`kit db status`, or "
            "your docker test-db) and run `kit diagnose` again.")
    _record(diagnosis, target.kind)
    return diagnosis


def _record(diagnosis: Diagnosis, target_kind: str) -> None:
    """Append the diagnosis and every test it ran to the records store."""
    from kit.run.records import RunRecord, append_records, new_run_id
    from kit.common.versions import collect_versions

    run_id, versions = new_run_id(), collect_versions()
    causes = sorted({f.cause for f in diagnosis.roots})
    records = [RunRecord("diagnose", diagnosis.suite, "failed" if diagnosis.findings else "passed",
                         error_type="DatabaseGone" if diagnosis.database_gone else None,
                         error_message=diagnosis.database_gone, versions=versions, target_kind=target_kind,
                         run_id=run_id, duration_s=diagnosis.run.duration_s if diagnosis.run else 0.0,
                         details={"passed": diagnosis.passed, "failed": diagnosis.failed,
                                  "errors": diagnosis.errors, "causes": causes})]
    for case in diagnosis.run.cases if diagnosis.run else []:
        records.append(RunRecord("test", case.nodeid, case.outcome, variant=f"diagnose/{Path(diagnosis.suite).name}",
                                 phase=case.phase, error_type=case.error_type, error_message=case.message,
                                 duration_s=round(case.duration_s, 4), versions=versions, target_kind=target_kind,
                                 loops={"phases": case.loops, "fixtures": case.fixture_loops}, run_id=run_id))
    append_records(records)


__all__ += ["run_diagnosis"]


# -- presenting ------------------------------------------------------------------------------------------
def render_text(diagnosis: Diagnosis, width: int = 110) -> str:
    """The terminal report: counts, then each root with its evidence and fix, its fallout listed under it."""
    import textwrap

    def wrap(text: str, first: str, rest: str, lines: int | None = None) -> list[str]:
        return textwrap.wrap(" ".join((text or "").split()), width, initial_indent=first, subsequent_indent=rest,
                             max_lines=lines, placeholder=" …") or [first.rstrip()]

    config = diagnosis.config
    out = [f"kit diagnose: {diagnosis.suite}",
           *wrap(f"{_config_line(config)}; pytest {config.get('pytest') or '?'}, SQLAlchemy "
                 f"{config.get('sqlalchemy') or '?'}, asyncpg {config.get('asyncpg') or '?'}", "  ", "    "),
           f"  tests: {diagnosis.passed} passed, {diagnosis.failed} failed, {diagnosis.errors} errors; "
           f"{len(diagnosis.findings)} finding(s), {len(diagnosis.roots)} root cause(s)"]
    if not diagnosis.findings:
        out.append("\nNo findings: nothing in this run points at a loop, session or isolation problem.")
        return "\n".join(out + _advice_lines(diagnosis))
    shown_unknown: dict[str, int] = {}
    for root in diagnosis.roots:
        if root.cause == UNKNOWN and _short(root.error_type) in shown_unknown:
            shown_unknown[_short(root.error_type)] += 1
            out.append(f"      + {root.nodeid} [{root.phase}]: the same {_short(root.error_type)}")
            continue
        if root.cause == UNKNOWN:
            shown_unknown[_short(root.error_type)] = 1
        kind = "unknown cause (not in kit's catalogue)" if root.cause == UNKNOWN else root.cause
        out += ["", f"ROOT  {root.nodeid}  [{root.phase}]  {kind}"]
        if root.error_type or root.message:
            out += wrap(f"{_short(root.error_type) or 'error'}: {_headline(root.message)}", "      ", "        ", 2)
        for item in root.evidence[:2]:
            out += wrap(item, "      evidence: ", "                ", 2)
        out += wrap(root.fix, "      fix: ", "           ")
        children = [f for f in diagnosis.findings if f.secondary and f.root == root.nodeid]
        for child in children:
            head = f"      └ secondary: {child.nodeid} [{child.phase}] {_short(child.error_type) or 'error'}: "
            out.append(head + one_line(child.message, max(30, width - len(head))))
            out.append("          " + one_line(child.evidence[-1] if child.evidence else "", width - 10))
    return "\n".join(out + _advice_lines(diagnosis))


def _advice_lines(diagnosis: Diagnosis) -> list[str]:
    from kit.diagnose.advisor import render_advice

    return ["", render_advice(diagnosis.advice)] if diagnosis.advice else []


def _headline(message: str | None) -> str:
    """The telling part of a long message: asyncio's different-loop error starts with the whole task repr."""
    text = message or ""
    at = text.find(" got Future ")
    return "Task <…>" + text[at:] if at > 0 and len(text) > 160 else text


def findings_frame(diagnosis: Diagnosis):
    """The findings as a pandas DataFrame (one row each), for notebooks."""
    import pandas as pd

    rows = [{"test": f.nodeid, "phase": f.phase, "cause": f.cause, "secondary": f.secondary,
             "root": f.root or "", "error": f"{_short(f.error_type)}: {one_line(f.message, 90)}" if f.error_type else "",
             "evidence": one_line(f.evidence[0] if f.evidence else "", 140)} for f in diagnosis.findings]
    return pd.DataFrame(rows, columns=["test", "phase", "cause", "secondary", "root", "error", "evidence"])


def example_suite(destination: Path) -> Path:
    """A suite to diagnose when the notebook is not pointed at yours: the reference API at its ``simplified``
    stage (module-level engine, session-scoped schema fixture, legacy event_loop fixture), or, without the
    reference package, the catalogue's ``module-engine-per-test-loop`` broken variant."""
    try:
        from kit.reference import assemble_stage

        return assemble_stage("simplified", destination)
    except ImportError:
        from kit.catalogue.scenario import assemble, get_scenario

        return assemble(get_scenario("module-engine-per-test-loop"), "broken", Path(destination))


def timeline(diagnosis: Diagnosis):
    """The loop timeline figure of a diagnosis (tests against the loops they ran on)."""
    from kit.diagnose.timeline import loop_timeline_figure

    run = diagnosis.run
    return loop_timeline_figure(run.cases if run else [], diagnosis.findings, run.events if run else None)


__all__ += ["example_suite", "timeline"]
