"""Start kit's own pytest runs by forking a warm, pre-imported interpreter instead of a cold one.

Why: a cold ``python -m pytest`` on the reference API spends ~1.2 s of its ~2 s importing pytest,
SQLAlchemy, asyncpg and FastAPI, and ``kit investigate`` makes ~90 such runs. A fork server imports those
libraries, and the installed pytest plugins' modules, once per interpreter, then forks one child per run.
Each child is still its own process running real pytest under the run's arguments, working directory and
environment: pytest configures its plugins there, and the test project's conftest, test modules and app
are imported there. What a child shares with its siblings, and a cold interpreter would not: modules
imported before the run (so the plugins' own asserts are not rewritten, and warnings raised while they were
imported are not the run's), the hash seed, and what the interpreter read at start-up (one server per set of
``PYTHON*`` variables; a relative ``PYTHONPATH`` entry was resolved against kit's directory).

Only kit's own projects (catalogue variants, reference stages, matrix cells) run this way. ``kit diagnose``
and ``kit probe`` start the user's interpreter cold, exactly as the user would. ``KIT_FORK_SERVER=0`` turns
the server off everywhere.

Protocol: one Unix-socket connection per run. The client sends one JSON line (argv, cwd, env, output
path); the server answers ``{"pid": N}`` once it has forked, and ``{"exit": code}`` once it has reaped the
child (negative: killed by that signal, as in ``subprocess``). The server exits, killing its children's
process groups, when its stdin (a pipe from kit) closes, that is, when kit exits or dies; it also exits
after ``IDLE_EXIT_S`` without a run, so a notebook kernel does not keep one per matrix environment.

This module runs inside version environments too, so it imports only the standard library.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import json
import os
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

__all__ = ["PRELOAD", "WarmProcess", "launch", "own_group_dies_with_parent", "shutdown"]

PRELOAD = ("pytest", "sqlalchemy", "sqlalchemy.orm", "sqlalchemy.ext.asyncio", "sqlalchemy.dialects.postgresql.asyncpg",
           "asyncpg", "pydantic", "fastapi", "httpx")
# Pre-imported pytest plugins (and anyio, via Starlette and httpx) cannot be assertion-rewritten; their asserts
# are not the tests', so pytest's warning about it is noise.
QUIET_REWRITE = ("-W", "ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning")
_START_TIMEOUT = 60.0
IDLE_EXIT_S = 120.0
_PR_SET_PDEATHSIG = 1


# -- client side: kit ----------------------------------------------------------------------------------------

class WarmProcess:
    """One forked run, seen through the part of ``subprocess.Popen`` that kit's runner uses."""

    def __init__(self, lines: _Lines, pid: int) -> None:
        self._lines, self.pid = lines, pid
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is not None:
            return self.returncode
        try:
            line = self._lines.read(timeout)
        except TimeoutError:
            raise subprocess.TimeoutExpired("pytest", timeout) from None
        except OSError:
            line = b""
        # No answer: the server died, and its children with it (they die with their parent).
        self.returncode = json.loads(line)["exit"] if line else -signal.SIGKILL
        self._lines.connection.close()
        return self.returncode


class _Lines:
    """Lines read from a socket with ``recv``: unlike a ``makefile`` reader, still readable after a timeout."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection, self._buffer = connection, bytearray()

    def read(self, timeout: float | None) -> bytes:
        """The next line, or b"" if the other side closed first; ``TimeoutError`` after ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            self.connection.settimeout(None if deadline is None else max(0.001, deadline - time.monotonic()))
            chunk = self.connection.recv(4096)
            if not chunk:
                return b""
            self._buffer += chunk
        end = self._buffer.index(b"\n") + 1
        line = bytes(self._buffer[:end])
        del self._buffer[:end]
        return line


class _Server:
    def __init__(self, python: str, env: dict[str, str]) -> None:
        self.directory = tempfile.mkdtemp(prefix="kit-fork-")
        self.address = os.path.join(self.directory, "socket")
        self.process = subprocess.Popen([python, "-m", "kit.run.forkserver", self.address], env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        ready, _, _ = select.select([self.process.stdout], [], [], _START_TIMEOUT)
        if not ready or self.process.stdout.readline() != b"ready\n":
            self.close()
            raise OSError(f"the fork server for {python} did not start")

    def alive(self) -> bool:
        return self.process.poll() is None

    def launch(self, argv: list[str], cwd: str, env: dict[str, str], output: str) -> WarmProcess:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lines = _Lines(connection)
        try:
            connection.settimeout(_START_TIMEOUT)
            connection.connect(self.address)
            connection.sendall(json.dumps({"argv": argv, "cwd": cwd, "env": env, "output": output}).encode()
                               + b"\n")
            line = lines.read(_START_TIMEOUT)
        except OSError:
            line = b""
        if not line:
            connection.close()
            raise OSError("the fork server could not be reached, or closed the connection before forking")
        return WarmProcess(lines, json.loads(line)["pid"])

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()  # the server kills its children and exits
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        shutil.rmtree(self.directory, ignore_errors=True)


_servers: dict[tuple, _Server | None] = {}
_lock = threading.Lock()


def launch(python: str, argv: list[str], cwd: str, env: dict[str, str], output: str) -> WarmProcess | None:
    """Run ``python -m pytest *argv`` as a fork of a warm server; ``None`` when that is not possible here
    (not Linux, turned off, or the server would not start), and the caller starts a cold process instead."""
    if os.environ.get("KIT_FORK_SERVER", "1") == "0" or not sys.platform.startswith("linux"):
        return None
    # What the interpreter reads only at start-up must match the run's; one server per such combination.
    startup = {k: v for k, v in env.items() if k.startswith("PYTHON")}
    key = (python, tuple(sorted(startup.items())))
    for _ in range(2):  # a second time if the server exited (idle) between the check and the connect
        with _lock:
            server = _servers.get(key, False)
            if server is not None and (server is False or not server.alive()):
                if server:
                    server.close()
                try:
                    server = _servers[key] = _Server(python, {**os.environ, **startup})
                except OSError:
                    server = _servers[key] = None  # remembered: no retry on every run
            if server is None:
                return None
        try:
            return server.launch(argv, cwd, env, output)
        except OSError:
            if server.alive():
                return None
    return None


@atexit.register
def shutdown() -> None:
    """Stop every fork server this process started (their running children are killed)."""
    with _lock:
        servers = [s for s in _servers.values() if s]
        _servers.clear()
    for server in servers:
        server.close()


# -- server side: ``python -m kit.run.forkserver ADDRESS`` --------------------------------------------------------

def _preload() -> None:
    """Import ``PRELOAD`` and every installed pytest plugin (``pytest11`` entry points, kit's recorder too).

    Plugins would otherwise be assertion-rewritten, that is compiled from source, in every run: pytest cannot
    cache the rewritten code under ``PYTHONDONTWRITEBYTECODE``, which kit's runs set (~0.5 s per run)."""
    from importlib.metadata import entry_points

    plugins = [entry.value.split(":")[0] for entry in entry_points(group="pytest11")]
    for name in (*PRELOAD, *plugins):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an environment without FastAPI still gets the rest
            pass


def serve(address: str) -> None:
    try:
        _serve(address)
    finally:  # also when kit died without cleaning up (SIGKILL, an immediately killed kernel)
        with contextlib.suppress(OSError):
            os.unlink(address)
            os.rmdir(os.path.dirname(address))


def _serve(address: str) -> None:
    _preload()
    # What the preload built lives as long as any child: out of the collector's way, a child's
    # gc.collect() (pytest makes several at exit) does not walk it, and its pages stay shared.
    gc.collect()
    gc.freeze()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "kit")
    selector.register(listener, selectors.EVENT_READ, "run")
    selector.register(wake_read, selectors.EVENT_READ, "child")
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        events = selector.select(timeout=IDLE_EXIT_S)
        if not events and not children:
            return
        for key, _ in events:
            if key.data == "kit" and not os.read(sys.stdin.fileno(), 4096):
                for pid in children:
                    _kill_group(pid)
                return
            if key.data == "run":
                server_fds = (listener.fileno(), wake_read, wake_write, *(c.fileno() for c in children.values()))
                _accept(listener, children, server_fds)
            elif key.data == "child":
                _drain(wake_read)
                _reap(children)


def _accept(listener: socket.socket, children: dict[int, socket.socket], server_fds: tuple[int, ...]) -> None:
    """Fork one run. A failure here (no file descriptors, no memory to fork) costs that run only: the client
    sees the connection close and starts a cold process; the runs in flight go on."""
    try:
        connection, _ = listener.accept()
    except OSError:
        return
    try:
        request = json.loads(_Lines(connection).read(10))
        connection.settimeout(10)  # for the answers
        parent = os.getpid()
        pid = os.fork()
    except (OSError, ValueError):
        connection.close()
        return
    if pid == 0:
        connection.close()
        _child(request, parent, server_fds)
    children[pid] = connection
    try:
        connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    except OSError:
        pass


def _reap(children: dict[int, socket.socket]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = children.pop(pid, None)
        if connection is not None:
            try:
                connection.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
            except OSError:
                pass
            connection.close()


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _child(request: dict, parent: int, server_fds: tuple[int, ...]) -> None:
    """In the fork: become ``python -m pytest`` in the run's directory and environment, then exit."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in server_fds:
            os.close(fd)
        own_group_dies_with_parent(parent)
        output = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = os.getcwd()  # what ``python -m`` puts first
        sys.argv = ["pytest", *request["argv"]]
        code = _run_pytest()
    except BaseException:  # noqa: BLE001 - the child must never return into the server's loop
        traceback.print_exc()
    finally:
        os._exit(code)


def _run_pytest() -> int:
    import runpy

    try:
        runpy.run_module("pytest", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            code = exit_.code or 0
        else:
            print(exit_.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001 - as the interpreter would: print it, exit 1
        traceback.print_exc()
        code = 1
    # What interpreter shutdown does before its final exit: wait for threads, run atexit hooks, flush.
    getattr(threading, "_shutdown", lambda: None)()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    return code


def own_group_dies_with_parent(parent: int | None = None) -> None:
    """In a child, before it runs: a process group of its own (so a timeout kills everything it started), and
    SIGKILL when its parent dies, so a killed kit cannot leave a hung pytest behind. With ``parent``: exit at
    once if that parent died before the request took effect."""
    os.setsid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the timeout still bounds the run
        return
    if parent is not None and os.getppid() != parent:
        os._exit(1)


if __name__ == "__main__":
    serve(sys.argv[1])
