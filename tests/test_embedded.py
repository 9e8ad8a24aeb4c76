"""The embedded PostgreSQL: start, warm reuse, stop, recovery, and who may get in."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import wait_until

from kit.common.aio import run_sync
from kit.db.embedded import EmbeddedServer
from kit.db.target import Target, connect
from kit.errors import TargetError


@pytest.fixture
def server(tmp_path: Path):
    """A server of its own (not the session's), stopped afterwards."""
    instance = EmbeddedServer(tmp_path / "state")
    yield instance
    instance.stop()


def _query(url: str) -> int:
    async def go() -> int:
        conn = await connect(Target(url, "embedded"))
        try:
            return await conn.fetchval("select 1")
        finally:
            await conn.close()

    return run_sync(go())


def test_start_is_idempotent_and_warm_start_reuses_the_server(server):
    url = server.start()
    pid = server.status().pid
    assert _query(url) == 1
    assert server.start() == url
    assert server.status().pid == pid  # the same postmaster: reused, not restarted


def test_stop_then_start_keeps_data_and_secret(server):
    url = server.start()
    assert server.stop() is True
    assert server.status().running is False
    assert server.stop() is False
    url_again = server.start()
    assert url_again.split("@")[0] == url.split("@")[0]  # same user and secret
    assert _query(url_again) == 1


@pytest.mark.faults
def test_recovers_after_the_postmaster_is_sigkilled(server):
    server.start()
    pid = server.status().pid
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not server.status().running, 10, f"kit to see its postmaster {pid} gone")
    assert _query(server.start()) == 1
    assert server.status().pid != pid


@pytest.mark.faults
def test_recovers_after_the_owning_kit_process_is_sigkilled(tmp_path):
    state = tmp_path / "state"
    script = ("import os, signal, sys; from kit.db.embedded import EmbeddedServer; "
              "EmbeddedServer(sys.argv[1]).start(); os.kill(os.getpid(), signal.SIGKILL)")
    process = subprocess.run([sys.executable, "-c", script, str(state)], timeout=120)
    assert process.returncode == -signal.SIGKILL
    server = EmbeddedServer(state)
    try:
        assert server.status().running  # the server outlives its killed owner...
        assert _query(server.start()) == 1  # ...and the next start simply reuses it
    finally:
        server.stop()


def test_half_initialised_data_directory_is_rebuilt(server):
    server.start()
    server.stop()
    (server.data_dir / "kit-ready").unlink()  # as if the owner died during initdb
    (server.data_dir / "PG_VERSION").unlink()
    assert _query(server.start()) == 1


@pytest.mark.faults
@pytest.mark.parametrize("old_server", ["stopped", "still running"])
def test_a_state_directory_made_again_at_the_same_path_gets_a_server_for_its_new_secret(server, old_server):
    """The new state's secret never matches the old data directory's password: kit initialises it again
    (stopping the old state's server first) instead of serving a URL that cannot log in."""
    import shutil

    old_url = server.start()
    old_pid = server.status().pid
    if old_server == "stopped":
        server.stop()
    shutil.rmtree(server.state)  # the user deletes kit's state; the server home under /tmp stays
    again = EmbeddedServer(server.state)
    url = again.start()
    assert url != old_url and _query(url) == 1
    assert again.status().pid != old_pid


@pytest.mark.faults
def test_secret_and_data_directory_are_private_and_password_is_required(server):
    url = server.start()
    assert stat.S_IMODE((server.state / "secret").stat().st_mode) == 0o600
    assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700
    hba = [line.split() for line in (server.data_dir / "pg_hba.conf").read_text().splitlines()
           if line.strip() and not line.startswith("#")]
    assert hba and all(fields[-1] == "scram-sha-256" for fields in hba)
    assert "listen_addresses = '127.0.0.1'" in (server.data_dir / "postgresql.conf").read_text()
    with pytest.raises(TargetError, match="authentication failed"):
        _query(url.replace(server.secret, "not-the-secret"))
    if os.geteuid() == 0:  # as root, the server runs as an unprivileged user, from a directory kit owns
        assert server.data_dir.stat().st_uid != 0
        assert not str(server.home).startswith(str(Path.home()))
