"""What kit's local servers (the embedded PostgreSQL and the embedded Redis) share.

Both listen on 127.0.0.1 only, on a port that was free when they were first started (and is kept while it
stays free, so URLs survive a restart), with a generated secret in a 0600 file in kit's state directory.
Both outlive the kit process that started them, so the next command starts warm; their metadata and a
lock (which the kernel drops if its holder is SIGKILLed) live next to the secret. One home for all of this
keeps the two servers' rules identical.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import signal
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kit.common.masking import register_secret

__all__ = ["ServerStatus", "StateFiles", "free_port", "port_free", "accepting", "runs", "stop_process"]


@dataclass
class ServerStatus:
    running: bool
    port: int | None
    pid: int | None
    data_dir: str
    url: str | None  # masked


def free_port() -> int:
    """A loopback port nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    """Whether a server could bind ``port`` on 127.0.0.1 (as servers do, TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def accepting(port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def runs(pid: int, program: bytes) -> bool:
    """Whether ``pid`` is a live process of ``program`` (a zombie's command line is empty: it does not run)."""
    try:
        return program in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def stop_process(pid: int, program: bytes, signals: Sequence[signal.Signals], grace: float = 10) -> None:
    """Send ``signals`` in turn, each given ``grace`` seconds, until ``pid`` no longer runs ``program``."""
    for sig in signals:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not runs(pid, program):
                return
            time.sleep(0.05)


class StateFiles:
    """One server's files in kit's state directory: its secret (0600), its metadata (JSON) and its lock."""

    def __init__(self, state: Path, secret: str, meta: str, lock: str) -> None:
        self.secret_file = state / secret
        self.meta_file = state / meta
        self.lock_file = state / lock

    @property
    def secret(self) -> str:
        """The server's password, generated on first use; registered so that no output ever shows it."""
        path = self.secret_file
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(24))
        os.chmod(path, 0o600)
        value = path.read_text().strip()
        register_secret(value)
        return value

    def meta(self) -> dict:
        try:
            return json.loads(self.meta_file.read_text())
        except (OSError, ValueError):
            return {}

    def save_meta(self, **values: object) -> None:
        meta = self.meta() | values
        tmp = self.meta_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, self.meta_file)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Serialise start/stop across processes; the kernel drops the lock if its holder dies."""
        with open(self.lock_file, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
