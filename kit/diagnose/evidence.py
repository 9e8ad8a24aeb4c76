"""The evidence a recorded run holds, indexed once per classification, and the texts the rules match.

The rules read what the recorder saw, not just the exception text, because five catalogue entries share the
same "attached to a different loop" error: the loop a pooled connection was opened on (and by which fixture,
in which thread), the loop that checked it out, the pytest-asyncio configuration, fixture scopes, logs and
warnings. :class:`Evidence` turns the run's event list (:mod:`kit.recorder.events`) into those lookups; the
one thing the recorder cannot see, an ``event_loop`` fixture pytest-asyncio ignores, comes from the suite's
source through :mod:`kit.diagnose.scan`, read only when a rule asks for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kit.common.text import one_line, short_type
from kit.diagnose.scan import event_loop_overrides
from kit.recorder.events import (
    CONCURRENT_USE,
    CONNECT,
    CROSS_LOOP_CHECKOUT,
    CROSS_LOOP_USE,
    FIXTURE,
    JOINED_ROLLBACK,
    LEAKED_COMMIT,
    LOG,
    OBJECT,
    POOL,
    POOL_CREATED,
    SCHEMA,
    WARNING,
)
from kit.run.runner import CaseResult, PytestRun

__all__ = ["DIFFERENT_LOOP", "BUSY", "RUNNING_LOOP", "LOOP_CLOSED", "PENDING", "NEVER_RETRIEVED", "SCOPE_MISMATCH",
           "STRICT", "CONCURRENT",
           "GREENLET", "LIFESPAN", "TERMINATED", "DEASSOCIATED", "UNDISPOSED", "Evidence", "PoolOrigin", "short",
           "object_line", "texts", "config_line", "raw_evidence", "case_of", "runner_context"]

# -- the messages each entry shows ----------------------------------------------------------------------
DIFFERENT_LOOP = re.compile(r"attached to a different loop|different event loop|is bound to a different event loop")
BUSY = re.compile(r"another operation is in progress")
RUNNING_LOOP = re.compile(r"cannot be called from a running event loop|This event loop is already running")
LOOP_CLOSED = re.compile(r"Event loop is closed")
# a session refusing work after an earlier failure inside it: fallout of that failure, never a cause of its own
PENDING = re.compile(r"PendingRollbackError|Can't reconnect until invalid transaction is rolled back|"
                     r"transaction has been rolled back due to a previous exception")
NEVER_RETRIEVED = re.compile(r"never retrieved|unknown protocol state")
SCOPE_MISMATCH = re.compile(r"ScopeMismatch.*_(function|class|module|package|session)_scoped_runner", re.S)
STRICT = re.compile(r"requested an async fixture|'async_generator' object has no attribute|'coroutine' object has no "
                    r"attribute|async def functions are not natively supported")
CONCURRENT = re.compile(r"concurrent operations are not permitted|provisioning a new connection|Session is already "
                        r"flushing|can't be called here; "
                        r"method '\w+\(\)' is already in progress|not currently supported within the execution stage")
GREENLET = re.compile(r"greenlet_spawn has not been called|requires that the Python 'greenlet' library")
LIFESPAN = re.compile(r"'State' object has no attribute|unexpected keyword argument 'app'")
TERMINATED = re.compile(r"connection is closed|connection was closed in the middle of operation|"
                        r"terminating connection due to administrator command")
DEASSOCIATED = re.compile(r"transaction already deassociated from connection")
UNDISPOSED = re.compile(r"unclosed connection|unclosed transport|garbage collector is trying to clean up "
                        r"(non-checked-in )?connection|unclosed <")

_SCOPE_ORDER = {"session": 0, "package": 1, "module": 2, "class": 3, "function": 4}


short = short_type  # the name the rules use


def texts(case: CaseResult) -> str:
    """The case's first error and its exception chain, as one searchable text (later phases' errors, such as
    a teardown failing on the same busy connection, are fallout of the first and must not decide its cause)."""
    parts = [f"{case.error_type}: {case.message}"]
    parts += [f"{c.get('type')}: {c.get('message')}" for c in case.chain]
    return "\n".join(p for p in parts if p)


def config_line(config: dict) -> str:
    """The pytest-asyncio settings in force, as one evidence line (unset ones said so: that is often the cause)."""
    def show(key: str) -> str:
        return config.get(key) or "unset"

    return (f"pytest-asyncio {config.get('pytest-asyncio') or '?'}: mode={show('asyncio_mode')}, "
            f"asyncio_default_fixture_loop_scope={show('asyncio_default_fixture_loop_scope')}, "
            f"asyncio_default_test_loop_scope={show('asyncio_default_test_loop_scope')}")


def raw_evidence(case: CaseResult) -> list[str]:
    """What an unknown failure shows: its error, what caused it, and where it was raised."""
    lines = [f"{case.error_type or 'error'} at {case.phase or '?'}: {one_line(case.message, 200)}"]
    lines += [f"caused by {c.get('type')}: {one_line(c.get('message'), 160)}" for c in case.chain[:2]]
    if case.frames:
        lines.append("frames: " + " > ".join(case.frames[-3:]))
    return lines


def runner_context(config: dict) -> str | None:
    """The runner the suite's tests use, when it is not pytest-asyncio: ``anyio`` (AnyIO's pytest plugin) or
    ``sync`` (no async test: the tests drive loops themselves, e.g. a sync TestClient or ``asyncio.run``); None
    for pytest-asyncio, or when unknown. Fixes that set pytest-asyncio options fit only pytest-asyncio suites."""
    runners = config.get("runners") or {}
    if runners.get("pytest-asyncio"):
        return None
    if runners.get("anyio"):
        return "anyio"
    return "sync" if runners else None


@dataclass
class PoolOrigin:
    """Where an engine's pool was made, as the recorder saw it."""

    line: str                        # the evidence line
    fixture: str | None = None       # the fixture being set up, if any
    scope: str | None = None
    loop: str | None = None
    at_import: bool = False


def object_line(event: dict) -> str:
    """One object event as the sentence a reader needs: ``redis connection to 127.0.0.1:6379 opened on L1 (call of
    tests/test_a.py::test_x, redis/asyncio/connection.py) used on L2 (call of tests/test_a.py::test_y)``."""
    def at(phase, nodeid, thread=None) -> str:
        where = f"{phase or '?'} of {nodeid}" if nodeid else "outside any test"
        return where + (f", thread '{thread}'" if thread and thread != "MainThread" else "")

    library = event.get("library")
    name = "asyncio" if library in (None, "your code", "unknown") else library
    opened = (f"{name} connection to {event.get('peer') or '?'} opened on {event.get('opened_on')} "
              f"({at(event.get('opened_phase'), event.get('opened_nodeid'), event.get('opened_thread'))}, "
              f"{event.get('where')})")
    used = at(event.get("phase"), event.get("nodeid"), event.get("thread"))
    if event.get("action") == "closed-after-loop":
        return f"{opened} closed after that loop had closed ({used})"
    return f"{opened} used on {event.get('loop') or 'no running loop'} ({used})"


def case_of(run: PytestRun, nodeid: str) -> CaseResult:
    """The run's case for ``nodeid`` (an empty one when the evidence names a test that left no result)."""
    return next((c for c in run.cases if c.nodeid == nodeid), CaseResult(nodeid))


@dataclass
class Evidence:
    """Indexes over a run's events, built once per classification (:meth:`of`)."""

    run: PytestRun
    project: Path | None = None                        # the suite's directory, for its source
    connects: dict = field(default_factory=dict)       # conn -> connect event
    cross: list = field(default_factory=list)          # cross-loop-checkout events
    held: list = field(default_factory=list)           # cross-loop-use events: a connection held across loops
    objects: list = field(default_factory=list)        # object events: any asyncio connection on another loop
    schema: list = field(default_factory=list)         # tables created/dropped: by which fixture, worker, database
    concurrent: list = field(default_factory=list)
    joined_rollbacks: list = field(default_factory=list)
    leaked_commits: list = field(default_factory=list)
    pools: dict = field(default_factory=dict)          # pool -> pool-created event
    order: dict = field(default_factory=dict)          # nodeid -> position in the run (what came "before")
    fixtures: list = field(default_factory=list)       # fixture events
    logs: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    _overrides: list[str] | None = field(default=None, repr=False)
    _shared: dict[str, list[dict]] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, run: PytestRun, project: Path | None = None) -> Evidence:
        found = cls(run, project)
        found.order = {c.nodeid: i for i, c in enumerate(run.cases)}
        for event in run.events:
            kind, action = event.get("event"), event.get("action")
            if kind == POOL and action == CONNECT:
                found.connects.setdefault(str(event.get("conn")), event)
            elif kind == POOL and action == CROSS_LOOP_CHECKOUT:
                found.cross.append(event)
            elif kind == POOL and action == CROSS_LOOP_USE:
                found.held.append(event)
            elif kind == POOL and action == CONCURRENT_USE:
                found.concurrent.append(event)
            elif kind == POOL and action == JOINED_ROLLBACK and event.get("phase") in ("setup", "call"):
                found.joined_rollbacks.append(event)
            elif kind == POOL and action == LEAKED_COMMIT:
                found.leaked_commits.append(event)
            elif kind == POOL and action == POOL_CREATED:
                found.pools.setdefault(str(event.get("pool")), event)
            elif kind == POOL and action == SCHEMA:
                found.schema.append(event)
            elif kind == OBJECT:
                found.objects.append(event)
            elif kind == FIXTURE:
                found.fixtures.append(event)
            elif kind == LOG:
                found.logs.append(event)
            elif kind == WARNING:
                found.warnings.append(event)
        return found

    @property
    def session_thread(self) -> str:
        """The thread pytest ran the session in (``MainThread`` in a pytest process, another under ipytest's
        ``run_in_thread``): only connections of other threads are a sync TestClient's portal."""
        return self.run.config.get("thread") or "MainThread"

    @property
    def event_loop_overrides(self) -> list[str]:
        """Where the suite defines an ``event_loop`` fixture (``conftest.py:12``); read once, when first asked."""
        if self._overrides is None:
            self._overrides = event_loop_overrides(self.project)
        return self._overrides

    def pool_origin(self, connect: dict) -> PoolOrigin | None:
        """Where the engine owning a connection (its ``connect`` event) was made; None for a recording that does
        not say which pool the connection belongs to."""
        if connect.get("pool") is None:
            return None
        made = self.pools.get(str(connect.get("pool")))
        if made is None:  # the recorder starts after conftest.py files and plugins are imported
            return PoolOrigin("its engine's pool was made before any test or fixture ran (when a conftest.py, a plugin "
                              "or the test module itself was imported)", at_import=True)
        kind = made.get("poolclass") or "pool"
        loop = made.get("loop")
        on = f"on {loop}" if loop else "outside any running loop"
        if made.get("fixture"):
            return PoolOrigin(f"its engine ({kind}) was made by fixture '{made['fixture']}' ({made.get('scope')} "
                              f"scope), {on}, during {made.get('phase') or 'setup'} of {made.get('nodeid')}",
                              made["fixture"], made.get("scope"), loop)
        if made.get("nodeid"):
            return PoolOrigin(f"its engine ({kind}) was made in the {made.get('phase')} of {made.get('nodeid')}, "
                              f"{on}", None, "function", loop)
        return PoolOrigin(f"its engine ({kind}) was made at import, outside any test or fixture", at_import=True)

    def fixture_on(self, loop: str, nodeid: str | None = None) -> dict | None:
        """The widest-scoped fixture that ran on ``loop`` (preferring those of ``nodeid``)."""
        candidates = [f for f in self.fixtures if f.get("loop") == loop]
        candidates.sort(key=lambda f: (f.get("nodeid") != nodeid, _SCOPE_ORDER.get(f.get("scope"), 5)))
        return candidates[0] if candidates else None

    def scope_of(self, fixture: str) -> str | None:
        return next((f.get("scope") for f in self.fixtures if f.get("fixture") == fixture), None)

    def held_lines(self, case: CaseResult) -> list[str]:
        """A connection opened on one loop and used on another without a pool checkout, in ``case`` or the
        latest test before it: what a session (or connection) carried from one test's loop to the next shows,
        even when the first error is only "another operation is in progress"."""
        order = self.order
        here = order.get(case.nodeid, -1)
        seen = [e for e in self.held if order.get(e.get("nodeid"), len(order)) <= here]
        if not seen:
            return []
        event = seen[-1]
        connect = self.connects.get(str(event.get("conn")), {})
        made = self.pools.get(str(connect.get("pool"))) or {}
        what = f"{connect['driver']} connection" if connect.get("driver") else "connection"
        to = f" to {made['db']}" if made.get("db") else ""
        pool = f" (its engine's pool: {made['poolclass']})" if made.get("poolclass") else ""
        fixture = f", fixture '{connect['fixture']}'" if connect.get("fixture") else ""
        return [f"{'an' if what[0] in 'aeiou' else 'a'} {what}{to}{pool} opened on {event.get('created_on')} "
                f"({connect.get('phase') or '?'} of {connect.get('nodeid') or 'outside any test'}{fixture}) was used "
                f"on {event.get('loop')} ({event.get('phase')} of {event.get('nodeid')}) without being checked out "
                "again: something held it across loops (a session or connection shared by tests)"]

    def shared_schemas(self) -> dict[str, list[dict]]:
        """Databases whose schema fixture ran in more than one xdist worker: database -> the events.

        A worker takes part by creating or dropping the tables there, or by running the same fixture that did so
        in another worker on the same database (its pool there): ``create_all()`` finds the first worker's tables
        and creates none, and then that worker's teardown drops them under it, or its per-test ``TRUNCATE`` empties
        them under the other's test (the reference stages' shape: a 401 for a user the other worker removed).
        Computed once: every failing test asks."""
        if self._shared is None:
            self._shared = self._shared_schemas()
        return self._shared

    def _shared_schemas(self) -> dict[str, list[dict]]:
        by_db: dict[str, list[dict]] = {}
        for event in self.schema:
            if event.get("worker"):
                by_db.setdefault(event.get("db") or "?", []).append(event)
        for db, found in by_db.items():
            fixtures = {e.get("fixture") for e in found} - {None}
            taking_part = {e.get("worker") for e in found}
            for pool in self.pools.values():
                if (pool.get("db") == db and pool.get("worker") and pool.get("worker") not in taking_part
                        and pool.get("fixture") in fixtures):
                    found.append(pool)
                    taking_part.add(pool.get("worker"))
        return {db: found for db, found in by_db.items() if len({e.get("worker") for e in found}) > 1}

    def first_held(self, case: CaseResult) -> dict | None:
        """The held-across-loops event of ``case`` when it is the first for its connection (the root: later tests
        on the same connection only meet it busy)."""
        mine = next((e for e in self.held if e.get("nodeid") == case.nodeid), None)
        if mine is None:
            return None
        first = next(e for e in self.held if e.get("conn") == mine.get("conn"))
        return mine if first is mine else None

    def object_event(self, case: CaseResult, libraries: frozenset[str] | None = None,
                     exclude: frozenset[str] = frozenset()) -> dict | None:
        """The asyncio connection the recorder saw on a loop other than its own during ``case`` itself, of one of
        ``libraries`` (any, when None) and none of ``exclude``. Only the case's own: an earlier test's redis
        connection says nothing about this test's database failure."""
        return next((e for e in self.objects if e.get("nodeid") == case.nodeid
                     and (libraries is None or e.get("library") in libraries)
                     and e.get("library") not in exclude), None)

    def concurrency_lines(self, case: CaseResult) -> list[str]:
        """The recorder's sightings of one connection used by two tasks at once during ``case``."""
        return [f"connection used by tasks {' and '.join(e.get('tasks') or [])} at once ({e.get('phase')}): "
                f"{one_line(e.get('statement'), 80)}" for e in self.concurrent if e.get("nodeid") == case.nodeid][:2]

    def concurrency_warnings(self, case: CaseResult) -> list[str]:
        """SQLAlchemy's warning that a session refused concurrent use, during ``case``."""
        return [f"{w.get('category')}: {one_line(w.get('message'), 110)}" for w in self.warnings
                if w.get("nodeid") == case.nodeid and CONCURRENT.search(w.get("message") or "")][:1]
