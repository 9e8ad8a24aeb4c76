"""kit's pytest recorder: per test and phase, the outcome, the exception chain and the event loops used.

Load it with ``pytest -p kit.plugin`` (it is also a ``pytest11`` entry point, inactive unless asked
for: ``-p kit.plugin``, ``--kit-record FILE`` or ``KIT_RECORD_FILE``). It writes JSON Lines events to the
record file and never changes the outcome of a test: every hook is a wrapper that only observes, and
any failure inside the recorder itself is swallowed.

How loops are identified: pytest-asyncio (every version) and ``asyncio.run`` drive coroutines through
``BaseEventLoop.run_until_complete``. The recorder wraps that method once and labels each loop ``L1``,
``L2``... in order of first use, so a record can say "fixture engine ran on L1, the test on L3". SQLAlchemy
pool events add, for each pooled connection, the loop it was created on and the loop that checks it out.
"""

from __future__ import annotations

import asyncio
import faulthandler
import functools
import inspect
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import traceback
import weakref
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from kit.common.masking import mask_text, register_secret  # stdlib only: safe in any environment

__all__ = ["Recorder"]

_MAX_MESSAGE = 2000
_ENCODER = json.JSONEncoder(default=str)  # one encoder: json.dumps(default=...) builds one per call


def _mask(text: str) -> str:
    return mask_text(text) or ""


def _register_database_secret() -> None:
    """The run's DATABASE_URL password is masked wherever it appears, not only inside URLs."""
    password = urlsplit(os.environ.get("DATABASE_URL", "")).password
    register_secret(unquote(password) if password else None)


def _type_name(exc_type: type) -> str:
    module = exc_type.__module__
    return exc_type.__qualname__ if module in ("builtins", "__main__") else f"{module}.{exc_type.__qualname__}"


def _message(exc: BaseException) -> str:
    """``str(exc)``, except where that is unreadable: a fixture lookup error is a tuple of internals."""
    argname = getattr(exc, "argname", None)
    if type(exc).__name__ == "FixtureLookupError" and argname:
        return f"fixture '{argname}' not found" + (f": {exc.msg}" if getattr(exc, "msg", None) else "")
    return str(exc)


def _chain(exc: BaseException | None) -> list[dict]:
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen and len(chain) < 6:
        seen.add(id(exc))
        chain.append({"type": _type_name(type(exc)), "message": _mask(str(exc))[:_MAX_MESSAGE]})
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return chain


def _frames(tb) -> list[str]:
    """The last few frames outside pytest/pluggy/asyncio internals: where the user's code was."""
    keep = []
    for frame in traceback.extract_tb(tb):
        if any(part in frame.filename for part in ("/_pytest/", "/pluggy/", "/asyncio/", "/pytest_asyncio/")):
            continue
        keep.append(f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}")
    return keep[-4:]


def _observer(function):
    """A hook wrapper that only observes (``result = yield; return result``): pluggy's new-style wrapper where
    it has one (1.1+, far cheaper per call), else adapted to an old-style ``hookwrapper``. An exception from
    the wrapped hook is left untouched either way."""
    try:
        return pytest.hookimpl(wrapper=True)(function)
    except TypeError:  # pluggy < 1.1
        return pytest.hookimpl(hookwrapper=True)(_old_style(function))


def _old_style(function):
    """``function`` (a new-style observer) as an old-style hookwrapper generator."""

    @functools.wraps(function)
    def old_style(*args, **kwargs):
        observer = function(*args, **kwargs)
        next(observer)
        outcome = yield
        try:
            result = outcome.get_result()
        except BaseException:  # noqa: BLE001 - the hook failed: let the observer's finally blocks run
            observer.close()
            return
        try:
            observer.send(result)
        except StopIteration:
            pass

    # pluggy < 1.1 reads hook arguments with inspect.getfullargspec, which ignores __wrapped__ but not this
    old_style.__signature__ = inspect.signature(function)  # type: ignore[attr-defined]
    return old_style


class Recorder:
    """Observes a pytest session and appends events to ``path``."""

    def __init__(self, config: pytest.Config, path: str) -> None:
        self.config = config
        self.path = path
        # Buffered: one flush per test (when it starts, so a hang is attributed to it) instead of a write
        # per event; the dump handler and session end flush the rest.
        self._handle = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self._labels: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._closed_labels: set[str] = set()
        self.nodeid: str | None = None
        self.phase: str | None = None
        self._phase_loops: dict[str, list[str]] = {}
        self._fixture_stack: list[list[str]] = []
        self._fixture_loops: dict[str, str] = {}
        self._connections: dict[int, str] = {}
        self._checked_out: dict[int, tuple] = {}  # pooled connection -> (test, phase, loop) that took it
        self._last_label: tuple = (lambda: None, None)
        self._passed: dict[str, float] = {}  # phase -> duration, for the test in progress
        self._restore: list = []

    # -- output --------------------------------------------------------------------------
    def flush(self, blocking: bool = True) -> None:
        if not self._lock.acquire(blocking=blocking):
            return
        try:
            self._handle.flush()
        except Exception:  # noqa: BLE001 - the recorder must never change an outcome
            pass
        finally:
            self._lock.release()

    def emit(self, event: str, **data: Any) -> None:
        try:
            line = _ENCODER.encode({"event": event, "t": round(time.time(), 4), **data})
            with self._lock:
                self._handle.write(line + "\n")
        except Exception:  # noqa: BLE001 - the recorder must never change an outcome
            pass

    # -- loop identity -------------------------------------------------------------------
    def label(self, loop: asyncio.AbstractEventLoop | None) -> str | None:
        if loop is None:
            return None
        last, label = self._last_label
        if last() is loop:  # the common case: the loop asked about last time (a weak reference, never kept alive)
            return label
        try:
            if loop not in self._labels:
                # a counter, not len(): a collected loop's label must never be handed to a new loop
                self._label_count = getattr(self, "_label_count", 0) + 1
                self._labels[loop] = f"L{self._label_count}"
            label = self._labels[loop]
            self._last_label = (weakref.ref(loop), label)
            return label
        except TypeError:
            return None

    def _note_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        label = self.label(loop)
        if label is None or threading.current_thread() is not threading.main_thread() and self.phase is None:
            return
        if self.phase is not None:
            used = self._phase_loops.setdefault(self.phase, [])
            if label not in used:
                used.append(label)
        for frame in self._fixture_stack:
            if label not in frame:
                frame.append(label)

    def install(self) -> None:
        recorder = self
        original = asyncio.BaseEventLoop.run_until_complete

        def run_until_complete(loop, future):
            recorder._note_loop(loop)
            return original(loop, future)

        asyncio.BaseEventLoop.run_until_complete = run_until_complete  # type: ignore[method-assign]
        self._restore.append(lambda: setattr(asyncio.BaseEventLoop, "run_until_complete", original))
        self._install_sqlalchemy_events()
        self._install_dump_handlers()

    def _current_loop_label(self) -> str | None:
        try:
            return self.label(asyncio.get_running_loop())
        except RuntimeError:
            return None

    def _install_sqlalchemy_events(self) -> None:
        try:
            from sqlalchemy import event
            from sqlalchemy.pool import Pool
        except Exception:  # noqa: BLE001 - SQLAlchemy is optional for the recorder
            return

        def on_connect(dbapi_connection, _record) -> None:
            loop = self._current_loop_label()
            self._connections[id(dbapi_connection)] = loop or "?"
            self.emit("pool", action="connect", conn=id(dbapi_connection), loop=loop, nodeid=self.nodeid,
                      phase=self.phase, thread=threading.current_thread().name)

        def on_checkout(dbapi_connection, _record, _proxy) -> None:
            loop = self._current_loop_label()
            key = id(dbapi_connection)
            self._checked_out[key] = (self.nodeid, self.phase, loop)  # named in a hang dump if never returned
            created = self._connections.get(key)
            if created and loop and created != loop:
                self.emit("pool", action="cross-loop-checkout", conn=key, created_on=created,
                          loop=loop, nodeid=self.nodeid, phase=self.phase)

        event.listen(Pool, "connect", on_connect)
        event.listen(Pool, "checkout", on_checkout)
        self._restore.append(lambda: (event.remove(Pool, "connect", on_connect),
                                      event.remove(Pool, "checkout", on_checkout)))
        self._install_session_events(event)

    def _install_session_events(self, event) -> None:
        """Evidence for kit diagnose: connections never returned (named in a hang dump), one connection
        used by two tasks at once (a shared AsyncSession under gather), and a session joined to a test's
        outer transaction that rolled it back for real (rollback-per-test isolation undone)."""
        from sqlalchemy.engine import Connection, Engine
        from sqlalchemy.orm import Session
        from sqlalchemy.pool import Pool

        in_flight: dict[int, Any] = {}  # SQLAlchemy connection -> the task executing on it

        def on_checkin(dbapi_connection, _record) -> None:
            self._checked_out.pop(id(dbapi_connection), None)

        def before_execute(conn, _cursor, statement, *_args) -> None:
            try:
                task, key = asyncio.current_task(), id(conn)
            except RuntimeError:  # no running loop: a sync engine
                return
            other = in_flight.get(key)
            if task is not None and other is not None and other is not task and not other.done():
                self.emit("pool", action="concurrent-use", conn=key, nodeid=self.nodeid, phase=self.phase,
                          loop=self._current_loop_label(), tasks=[other.get_name(), task.get_name()],
                          statement=_mask(str(statement))[:200])
            in_flight[key] = task

        def after_execute(conn, *_args) -> None:
            in_flight.pop(id(conn), None)

        def on_error(context) -> None:
            in_flight.pop(id(context.connection), None)

        def after_rollback(session) -> None:
            bind = session.bind
            if isinstance(bind, Connection) and not bind.in_transaction():
                self.emit("pool", action="joined-rollback", nodeid=self.nodeid, phase=self.phase,
                          mode=getattr(session, "join_transaction_mode", None))

        listeners = [(Pool, "checkin", on_checkin),
                     (Engine, "before_cursor_execute", before_execute), (Engine, "after_cursor_execute", after_execute),
                     (Engine, "handle_error", on_error), (Session, "after_rollback", after_rollback)]
        for target, name, fn in listeners:
            event.listen(target, name, fn)
        self._restore.append(lambda: [event.remove(t, n, f) for t, n, f in listeners])

    def _install_dump_handlers(self) -> None:
        """On SIGUSR1, dump every thread's stack and every pending task's stack (kit's runner on timeout)."""
        dump_path = os.environ.get("KIT_HANG_DUMP")
        if not dump_path or threading.current_thread() is not threading.main_thread():
            return
        dump = open(dump_path, "w", encoding="utf-8")
        faulthandler.register(signal.SIGUSR2, file=dump, all_threads=True)

        def dump_tasks(_signum, _frame) -> None:
            lines = [f"kit: hung in {self.nodeid or 'collection'} ({self.phase or '-'})"]
            for loop, label in list(self._labels.items()):
                if loop.is_closed():
                    continue
                for task in asyncio.all_tasks(loop):
                    lines.append(f"task on {label}: {task.get_name()} {task.get_coro()!r}")
                    lines.extend("    " + line for frame in task.get_stack(limit=8)
                                 for line in traceback.format_stack(frame, limit=1)[0].rstrip().splitlines())
                    lines.extend("    awaiting " + where for where in _awaiting(task.get_coro()))
            lines.extend(f"async generator (fixture?) awaiting {where}" for where in _suspended_async_generators())
            lines.extend(f"connection still checked out, taken in {nodeid or 'outside tests'} ({phase or '-'}) "
                         f"on {loop or '?'}" for nodeid, phase, loop in list(self._checked_out.values()))
            dump.write("\n".join(lines) + "\n\n")
            dump.flush()
            self.flush(blocking=False)  # never wait on the lock from a signal handler: it may hold it

        signal.signal(signal.SIGUSR1, dump_tasks)

    # -- pytest hooks ----------------------------------------------------------------------
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.emit("config", **asyncio_config(self.config))

    @_observer
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem):
        self.nodeid = nodeid = item.nodeid
        self._phase_loops = {}
        self._fixture_loops = {}
        self._passed: dict[str, float] = {}
        self.emit("start", nodeid=nodeid)
        self.flush()
        try:
            return (yield)
        finally:
            self.emit("test", nodeid=nodeid, loops=self._phase_loops, fixture_loops=self._fixture_loops,
                      passed=self._passed)
            self.nodeid = None

    # A phase starts with its hook (first in line) and ends when its report is made: plain hooks are far
    # cheaper than wrappers, and this runs three times per test. A loop another plugin's wrapper runs before
    # it yields would be outside the phase; pytest-asyncio runs its loops inside the hooks' implementations.
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        self.phase = "setup"

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item):
        self.phase = "call"

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item, nextitem):
        self.phase = "teardown"

    @_observer
    def pytest_fixture_setup(self, fixturedef, request):
        self._fixture_stack.append([])
        try:
            return (yield)
        finally:
            used = self._fixture_stack.pop()
            if used:
                self._fixture_loops[fixturedef.argname] = used[-1]
                self.emit("fixture", nodeid=self.nodeid, fixture=fixturedef.argname, scope=fixturedef.scope,
                          loop=used[-1])

    @_observer
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        self.phase = None
        report = yield
        try:
            if report.outcome == "passed":  # folded into the test's end event: one write per passing test
                self._passed[call.when] = round(call.duration, 6)
                return report
            data: dict[str, Any] = {"nodeid": item.nodeid, "when": call.when, "outcome": report.outcome,
                                    "duration": round(call.duration, 6)}
            if call.excinfo is not None and report.outcome != "passed":
                exc = call.excinfo.value
                data["error_type"] = _type_name(call.excinfo.type)
                data["message"] = _mask(_message(exc))[:_MAX_MESSAGE]
                data["chain"] = _chain(exc)[1:]
                data["frames"] = _frames(call.excinfo.tb)
            if report.outcome == "skipped":
                data["message"] = _mask(str(report.longrepr))[:_MAX_MESSAGE]
            self.emit("report", **data)
        except Exception:  # noqa: BLE001
            pass
        return report

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            text = _mask(str(report.longrepr))
            self.emit("report", nodeid=report.nodeid, when="collect", outcome="failed",
                      error_type=_collect_error_type(text), message=text[-_MAX_MESSAGE:])

    def pytest_warning_recorded(self, warning_message, when, nodeid, location) -> None:
        self.emit("warning", nodeid=nodeid or self.nodeid, phase=self.phase or when,
                  category=warning_message.category.__name__, message=_mask(str(warning_message.message))[:_MAX_MESSAGE])

    def pytest_unconfigure(self, config) -> None:
        for restore in reversed(self._restore):
            try:
                restore()
            except Exception:  # noqa: BLE001
                pass
        self.emit("end")
        self._handle.close()


def _awaiting(coro, limit: int = 12) -> list[str]:
    """Where a suspended coroutine waits: ``file:line in name`` down its ``cr_await`` chain (task stacks
    stop at the outermost coroutine, so a hang in a fixture's ``drop_all`` would not show otherwise)."""
    found = []
    while coro is not None and len(found) < limit:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            found.append(f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None) or getattr(coro, "gi_yieldfrom", None)
    return found


def _suspended_async_generators() -> list[str]:
    """Innermost frames of async generators suspended in an ``await`` (an async fixture's teardown):
    a task awaiting ``gen.__anext__()`` does not lead to them through ``cr_await``."""
    import gc
    import types

    found = []
    for obj in gc.get_objects():
        if isinstance(obj, types.AsyncGeneratorType) and obj.ag_running and obj.ag_await is not None:
            found.append(" <- ".join(reversed(_awaiting(obj))))
    return found[:10]


def _collect_error_type(text: str) -> str:
    """The exception name in a collection error's text (the last ``Name: message`` line)."""
    names = re.findall(r"^E\s+([A-Za-z_][\w.]*(?:Error|Exception|Exit))\b", text, re.M)
    return names[-1] if names else "CollectionError"


class _LogCapture(logging.Handler):
    """Errors that never become exceptions: 'Exception closing connection', 'Future exception was never retrieved'."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__(logging.ERROR)
        self.recorder = recorder

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001
            message = str(record.msg)
        self.recorder.emit("log", nodeid=self.recorder.nodeid, phase=self.recorder.phase, logger=record.name,
                           level=record.levelname, message=_mask(message)[:_MAX_MESSAGE],
                           error_type=_type_name(type(exc)) if exc else None,
                           error_message=_mask(str(exc))[:_MAX_MESSAGE] if exc else None)


def asyncio_config(config: pytest.Config) -> dict:
    """The pytest-asyncio configuration in force (None for options this version does not know)."""
    from importlib import metadata

    found: dict[str, Any] = {}
    for name in ("asyncio_mode", "asyncio_default_fixture_loop_scope", "asyncio_default_test_loop_scope"):
        try:
            found[name] = config.getini(name) or None
        except (ValueError, KeyError):
            found[name] = None
    for package in ("pytest", "pytest-asyncio", "sqlalchemy", "asyncpg"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    found["python"] = sys.version.split()[0]
    return found


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kit", "kit loop/session recorder")
    group.addoption("--kit-record", dest="kit_record", default=None, metavar="FILE",
                    help="write kit's per-test loop/session records (JSON Lines) to FILE")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("kit_record", None) or os.environ.get("KIT_RECORD_FILE")
    explicitly_loaded = "kit.plugin" in (getattr(config.option, "plugins", None) or [])
    if not path and not explicitly_loaded:
        return  # installed as an entry point but not asked for: stay out of the way
    if not path:
        os.makedirs(".kit", exist_ok=True)
        path = os.path.join(".kit", "records.jsonl")
    _register_database_secret()
    recorder = Recorder(config, path)
    recorder.install()
    handler = _LogCapture(recorder)
    logging.getLogger().addHandler(handler)
    recorder._restore.append(lambda: logging.getLogger().removeHandler(handler))
    config.pluginmanager.register(recorder, "kit-recorder")
