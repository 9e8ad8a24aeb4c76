"""kit's pytest recorder: per test and phase, the outcome, the exception chain and the event loops used.

Load it with ``pytest -p kit.plugin`` (it is also a ``pytest11`` entry point, inactive unless asked
for: ``-p kit.plugin``, ``--kit-record FILE`` or ``KIT_RECORD_FILE``). It writes JSON Lines events
(:mod:`kit.recorder.events`) to the record file and never changes the outcome of a test: every hook only
observes (plain hooks, no wrappers), and any failure inside the recorder itself is swallowed.

How loops are identified: pytest-asyncio (every version) and ``asyncio.run`` drive coroutines through
``BaseEventLoop.run_until_complete``. The recorder wraps that method once and labels each loop ``L1``,
``L2``... in order of first use (:mod:`kit.recorder.loops`), so a record can say "fixture engine ran on L1,
the test on L3". SQLAlchemy pool events (:mod:`kit.recorder.sqla`) add, for each pooled connection, the loop
it was created on and the loop that checks it out.

This module holds the session's state and the pytest hooks; each hook runs per test, so the work in them
stays inline rather than behind helpers.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from kit.recorder import hang, sqla, transports
from kit.recorder.config import asyncio_config, count_runners
from kit.recorder.events import (
    CONFIG,
    END,
    FIXTURE,
    FORMAT,
    REPORT,
    TEST,
    WARNING,
    encode,
    rounded,
    start_line,
    worker_stream,
)
from kit.recorder.exceptions import collect_error_type, exception_chain, readable_message, type_name, user_frames
from kit.recorder.logs import capture_error_logs
from kit.recorder.loops import FixtureSetup, LoopTracker, patch_run_until_complete
from kit.recorder.text import MAX_MESSAGE, mask, register_database_secret

__all__ = ["Recorder", "pytest_addoption", "pytest_configure"]


class Recorder(LoopTracker):
    """Observes a pytest session and appends events to ``path``."""

    def __init__(self, config: pytest.Config, path: str) -> None:
        super().__init__()
        self.config = config
        self.worker: str | None = worker_id(config)
        # an xdist controller (-n N): its tests run in the workers, which record them
        self.controller = self.worker is None and bool(getattr(config.option, "numprocesses", None)) \
            and getattr(config.option, "dist", "no") != "no"
        self._runs_call = not getattr(config.option, "setuponly", False)  # --setup-only runs no call phase
        self.path = path
        # Buffered: a flush at most every FLUSH_EVERY, when a test starts (so a hang is attributed to it); the dump
        # handler and the session's end flush the rest.
        self._handle = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()
        # Each test's start and end events, held until the next write (a flush, or any other event, which keeps the
        # file in order) and then formatted together: formatting one line per test between two tests' worth of
        # pytest, asyncio and SQLAlchemy runs on cold caches, several times slower than a batch. Thread-safe
        # appends and pops, no lock: the session's thread appends while a loop's thread may write.
        self._pending: collections.deque[tuple[float, str, tuple | None]] = collections.deque()
        self.nodeid: str | None = None
        self._fixture_loops: dict[str, str] = {}
        self.connections: dict[int, str] = {}  # pooled connection -> label of the loop it was created on
        self.pool_alias: dict[int, int] = {}  # a pool dispose() made -> the engine's first pool
        self.crossed: set[tuple[int, str]] = set()  # (connection, loop) pairs already reported as crossing
        self.checked_out: dict[int, tuple] = {}  # pooled connection -> (test, phase, loop) that took it
        self._passed: dict[str, float] = {}  # phase -> duration, for the test in progress
        self._failure: dict[str, Any] | None = None  # a failed phase's report, until its exception is known
        self._flushed = 0.0  # time.time() of the last flush at a test's start
        self._restore: list[Callable[[], object]] = []
        self.recording = True  # False once the session ended: wrappers left on live objects fall silent

    # -- output --------------------------------------------------------------------------
    def flush(self, blocking: bool = True) -> None:
        if not self._lock.acquire(blocking=blocking):
            return
        try:
            self._write_pending()
            self._handle.flush()
        except Exception:  # noqa: BLE001 - the recorder must never change an outcome
            pass
        finally:
            self._lock.release()

    def start(self, nodeid: str) -> None:
        """The test's start event, flushed so a crash or a hang is attributed to it, at most every 0.2 s: a test
        that runs longer than that finds its start on disk; a faster one is written with the next flush (a hang
        dump and the session's end flush everything)."""
        now = time.time()
        self._pending.append((now, nodeid, None))
        if now - self._flushed >= FLUSH_EVERY:
            self._flushed = now
            self.flush()

    def emit(self, event: str, **data: Any) -> None:
        try:
            line = encode(event, rounded(time.time(), 10_000), data)
            with self._lock:
                if self._pending:
                    self._write_pending()
                self._handle.write(line + "\n")
        except Exception:  # noqa: BLE001 - the recorder must never change an outcome
            pass

    def _write_pending(self) -> None:
        """Write the held start and end events, in order (the lock is held)."""
        pending, lines = self._pending, []
        while pending:
            t, nodeid, test = pending.popleft()
            if test is None:
                lines.append(start_line(t, nodeid))
                continue
            loops, fixture_loops, passed = test
            lines.append(encode(TEST, rounded(t, 10_000), {
                "nodeid": nodeid, "loops": loops, "fixture_loops": fixture_loops,
                "passed": {phase: rounded(seconds, 1_000_000) for phase, seconds in passed.items()}}) + "\n")
        self._handle.write("".join(lines))

    def install(self) -> None:
        self._restore.append(patch_run_until_complete(self.note_loop))
        sqla.listen(self, self._restore)
        self._restore.append(transports.watch_connections(self))
        hang.install_dump_handlers(self)

    # -- pytest hooks ----------------------------------------------------------------------
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        workers = getattr(self.config.option, "numprocesses", None) if self.worker is None else None
        # a loop already running on pytest's own thread (a Jupyter kernel's, without ipytest's run_in_thread):
        # no async test can start its own there
        running = asyncio._get_running_loop() is not None
        self.emit(CONFIG, format=FORMAT, worker=self.worker, thread=threading.current_thread().name,
                  **({"xdist": workers} if workers else {}), **({"running_loop": True} if running else {}),
                  **asyncio_config(self.config))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Which plugin runs the collected tests (fixes differ between pytest-asyncio and AnyIO): counted once."""
        try:
            self.emit(CONFIG, runners=count_runners(session.items))
        except Exception:  # noqa: BLE001 - the recorder must never change an outcome
            pass

    # A test's life is read from plain hooks (far cheaper than wrappers, and this runs for every test): it starts
    # with pytest_runtest_logstart and ends with pytest_runtest_logfinish, and each phase's report, which ends that
    # phase, says which comes next (call after a setup that passed, unless --setup-only; teardown otherwise). No
    # loop runs between a report and the next phase's hook: pytest-asyncio runs its loops inside the phases.
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        if self.controller:  # an xdist controller replays its workers' tests: they are recorded where they ran
            return
        self.nodeid = nodeid
        self.phase = "setup"
        self._phase_loops = {}
        self._fixture_loops = {}
        self._passed = {}
        self.start(nodeid)

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        if self.nodeid is None:  # the controller's replay, or a plugin's unbalanced call
            return
        self._emit_failure()
        self._pending.append((time.time(), self.nodeid, (self._phase_loops, self._fixture_loops, self._passed)))
        self.nodeid = self.phase = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: pytest.FixtureRequest) -> None:
        self.fixture_setup_began(fixturedef)  # a plain hook: its end is read from the fixture (loops.py)

    def fixture_set_up(self, setup: FixtureSetup) -> None:
        if setup.loops:
            name = setup.fixturedef.argname
            self._fixture_loops[name] = setup.loops[-1]
            self.emit(FIXTURE, nodeid=self.nodeid, fixture=name, scope=setup.fixturedef.scope, loop=setup.loops[-1])

    # Outcomes come from the report hooks, plain hooks (far cheaper than a wrapper around makereport, three times
    # a test): a passing phase is folded into the test's end event (one write per passing test); a failure's
    # exception, which the report no longer holds, comes with pytest_exception_interact right after its report.
    # Under xdist the controller replays every worker's reports: only the process that ran the test records it.
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.nodeid is None:  # not a test of this process (an xdist controller's copy of a worker's report)
            return
        when, passed = report.when, report.outcome == "passed"
        if self._fixture_stack:
            self.settle_fixtures(phase_ended=True)
        self.phase = ("call" if passed and self._runs_call else "teardown") if when == "setup" else \
            "teardown" if when == "call" else None
        self._emit_failure()  # a failure that had no exception (a strict xpass): written as its phase ends
        if passed:  # the common case, kept to a few attribute reads
            self._passed[when] = report.duration
            return
        try:
            data: dict[str, Any] = {"nodeid": report.nodeid, "when": when, "outcome": report.outcome,
                                    "duration": rounded(report.duration, 1_000_000)}
            if report.skipped:
                data["message"] = mask(str(report.longrepr))[:MAX_MESSAGE]
                self.emit(REPORT, **data)
            else:
                self._failure = data  # its exception, if any, comes next (pytest_exception_interact)
        except Exception:  # noqa: BLE001 - the recorder must never change an outcome
            pass

    def pytest_exception_interact(self, node: Any, call: pytest.CallInfo, report: Any) -> None:
        failure = self._failure
        if failure is None or getattr(report, "nodeid", None) != failure["nodeid"] or call.excinfo is None:
            return
        try:
            exc = call.excinfo.value
            failure["error_type"] = type_name(call.excinfo.type)
            failure["message"] = mask(readable_message(exc))[:MAX_MESSAGE]
            failure["chain"] = exception_chain(exc)[1:]
            failure["frames"] = user_frames(call.excinfo.tb)
        except Exception:  # noqa: BLE001 - the recorder must never change an outcome
            pass
        self._emit_failure()

    def _emit_failure(self) -> None:
        """Write the failed phase's report held for its exception (once)."""
        failure, self._failure = self._failure, None
        if failure is not None:
            self.emit(REPORT, **failure)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            text = mask(str(report.longrepr))
            self.emit(REPORT, nodeid=report.nodeid, when="collect", outcome="failed",
                      error_type=collect_error_type(text), message=text[-MAX_MESSAGE:])

    def pytest_warning_recorded(self, warning_message: Any, when: str, nodeid: str, location: Any) -> None:
        self.emit(WARNING, nodeid=nodeid or self.nodeid, phase=self.phase or when,
                  category=warning_message.category.__name__, message=mask(str(warning_message.message))[:MAX_MESSAGE])

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.recording = False
        for restore in reversed(self._restore):
            try:
                restore()
            except Exception:  # noqa: BLE001
                pass
        self.emit(END)
        self._handle.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kit", "kit loop/session recorder")
    group.addoption("--kit-record", dest="kit_record", default=None, metavar="FILE",
                    help="write kit's per-test loop/session records (JSON Lines) to FILE")


FLUSH_EVERY = 0.2  # seconds between flushes of the record file at a test's start
_OWNER = "KIT_RECORD_OWNER"  # the pid of the process whose session is being recorded
_active: list[Recorder] = []   # the session this process records (at most one)


def pytest_configure(config: pytest.Config) -> None:
    explicit = config.getoption("kit_record", None)
    path = explicit or os.environ.get("KIT_RECORD_FILE")
    explicitly_loaded = "kit.plugin" in (getattr(config.option, "plugins", None) or [])
    if not path and not explicitly_loaded:
        return  # installed as an entry point but not asked for: stay out of the way
    # Record only the session kit started: a suite that tests a pytest plugin runs inner sessions (pytester), in
    # this process or in a child that inherits KIT_RECORD_FILE; recording them would count phantom tests.
    if _active or (not explicit and os.environ.get(_OWNER, str(os.getpid())) != str(os.getpid())
                   and not hasattr(config, "workerinput")):
        return
    if not path:
        os.makedirs(".kit", exist_ok=True)
        path = os.path.join(".kit", "records.jsonl")
    if explicit and not worker_id(config):
        _one_argument(config, explicit)
    register_database_secret()
    if worker_id(config):  # one stream per xdist worker, beside the controller's (kit.run.streams merges them)
        path = worker_stream(path, worker_id(config))
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)  # `--kit-record=kit-records/x.jsonl`
        recorder = Recorder(config, path)
    except OSError as exc:  # a path kit cannot write: the suite still runs, unrecorded, and says why
        config.issue_config_time_warning(pytest.PytestConfigWarning(
            f"kit's recorder cannot write {path} ({exc.strerror}): this run is not recorded"), stacklevel=2)
        return
    recorder.install()
    recorder._restore.append(capture_error_logs(recorder))
    _active.append(recorder)
    os.environ[_OWNER] = str(os.getpid())
    recorder._restore.append(_release)
    config.pluginmanager.register(recorder, "kit-recorder")


# pytest's configuration files, and what makes one of them pytest's ("" : being there is enough)
_CONFIG_FILES = {"pytest.ini": "", ".pytest.ini": "", "pyproject.toml": "[tool.pytest", "tox.ini": "[pytest]",
                 "setup.cfg": "[tool:pytest]"}


def _has_pytest_config(directory: Any) -> bool:
    for name, section in _CONFIG_FILES.items():
        try:
            if (directory / name).is_file() and section in (directory / name).read_text(errors="replace"):
                return True
        except OSError:
            continue
    return False


def _one_argument(config: pytest.Config, record: str) -> None:
    """``--kit-record FILE`` given as two arguments. pytest finds its rootdir and configuration file before it
    loads ``-p`` plugins, so FILE is then read as a test path: if it exists, the search starts from FILE's
    directory. That is always so for pytest-xdist's workers (they parse the controller's arguments after the
    controller created FILE), which then miss the project's configuration (its asyncio mode...) and fail every
    test: the workers get the one-argument ``--kit-record=FILE`` instead. A rerun whose FILE outside the project
    is left from an earlier run has already missed it here: say so and stop, rather than record a wrong run."""
    args = list(config.invocation_params.args)
    if "--kit-record" not in args[:-1]:
        return
    at = args.index("--kit-record")
    args[at:at + 2] = [f"--kit-record={os.path.abspath(record)}"]
    try:  # a dataclass in the pytest releases kit runs with; an older attrs class: workers keep the two arguments
        config.invocation_params = dataclasses.replace(config.invocation_params, args=tuple(args))
    except TypeError:
        pass
    here = config.invocation_params.dir
    if (config.inipath is None and os.path.exists(record)
            and _has_pytest_config(here)):
        raise pytest.UsageError(
            f"pytest read --kit-record's FILE ({record}), which exists from an earlier run, as a test path and "
            f"did not use the configuration in {here} (rootdir {config.rootpath}): pytest finds its configuration "
            f"before it loads kit's plugin. Write the option as one argument, --kit-record={record}, or delete "
            "the old file first.")


def worker_id(config: pytest.Config) -> str | None:
    """pytest-xdist's id of this worker process (``gw0``...), None outside a worker (xdist is optional)."""
    workerinput = getattr(config, "workerinput", None)
    return workerinput.get("workerid") if isinstance(workerinput, dict) else None


def _release() -> None:
    """The recorded session ended: the next session in this process (a notebook's next cell) may record."""
    _active.clear()
    if os.environ.get(_OWNER) == str(os.getpid()):
        del os.environ[_OWNER]
