"""The embedded Redis and REDIS_URL: real redis-server processes, who may get in, warm reuse, recovery,
clean paragraphs for bad URLs, and scratch databases that never see each other's keys."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from conftest import assert_no_traceback, gone_or_zombie, kit_cli, wait_until

from kit.db.local_server import free_port
from kit.db.redis_server import EmbeddedRedis
from kit.db.redis_target import scratch_redis
from kit.errors import RedisError


@pytest.fixture
def server(tmp_path: Path):
    """An embedded Redis of its own (its own state directory), stopped afterwards."""
    instance = EmbeddedRedis(tmp_path / "state")
    yield instance
    instance.stop()


def _kit(server: EmbeddedRedis, *args: str, redis_url: str | None = None):
    """The real ``kit`` command line on ``server``'s state directory (REDIS_URL only when given)."""
    env = {"KIT_STATE_DIR": str(server.state), "REDIS_URL": redis_url or ""}
    return kit_cli(*args, env=env, timeout=120)


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def _listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.add(address)
    return found


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
        except OSError:
            return None
        address = sock.getsockname()[0]
    return None if address.startswith("127.") else address


def test_start_serves_a_real_redis_and_a_second_start_reuses_it(server):
    url = server.start()
    assert url == f"redis://:{server.secret}@127.0.0.1:{server.status().port}/0"
    status = server.status()
    client = _client(url)
    try:
        assert client.ping() is True
        assert client.info("server")["redis_version"].startswith("6.2")
    finally:
        client.close()
    assert server.start() == url
    assert (server.status().pid, server.status().port) == (status.pid, status.port)  # reused, not restarted


@pytest.mark.faults
def test_listens_on_loopback_only_in_protected_mode_and_persists_nothing(server):
    url = server.start()
    port = server.status().port
    client = _client(url)
    try:
        config = {key: client.config_get(key)[key] for key in ("bind", "protected-mode", "save", "appendonly",
                                                                "unixsocket")}
    finally:
        client.close()
    assert config == {"bind": "127.0.0.1", "protected-mode": "yes", "save": "", "appendonly": "no",
                      "unixsocket": ""}
    assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and no IPv6 socket
    address = _non_loopback_address()
    if address:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address, port), timeout=5).close()


@pytest.mark.faults
def test_password_is_required_and_never_on_a_command_line_and_secret_files_are_private(server):
    url = server.start()
    for wrong in (url.replace(server.secret, "not-the-secret"), url.replace(f":{server.secret}@", "")):
        client = _client(wrong)
        with pytest.raises(redis.AuthenticationError):
            client.ping()
        client.close()
    assert stat.S_IMODE((server.state / "redis-secret").stat().st_mode) == 0o600
    assert stat.S_IMODE((server.home / "redis.conf").stat().st_mode) == 0o600
    assert stat.S_IMODE(server.home.stat().st_mode) == 0o700
    assert server.secret.encode() not in Path(f"/proc/{server.status().pid}/cmdline").read_bytes()


def test_cli_masks_the_password_unless_asked_and_status_exits_3_when_stopped(server):
    started = _kit(server, "redis", "start")
    assert started.code == 0, started.all
    port = server.status().port
    assert f"redis://:***@127.0.0.1:{port}/0" in started.out
    assert _kit(server, "redis", "url").out.strip() == f"redis://:***@127.0.0.1:{port}/0"
    assert _kit(server, "redis", "url", "--show-secret").out.strip() == server.start()
    status = _kit(server, "redis", "status")
    assert status.code == 0 and f"running (pid {server.status().pid})" in status.out
    for shown in (started, status):
        assert server.secret not in shown.all
    pid = server.status().pid
    stopped = _kit(server, "redis", "stop")
    assert (stopped.code, stopped.out.strip()) == (0, "stopped")
    assert gone_or_zombie(pid)
    status = _kit(server, "redis", "status")
    assert status.code == 3 and "stopped" in status.out
    assert _kit(server, "redis", "stop").out.strip() == "not running"


def test_a_port_taken_while_stopped_moves_the_server_to_a_free_one(server):
    server.start()
    port = server.status().port
    server.stop()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        url = server.start()
        assert server.status().port != port
        client = _client(url)
        assert client.ping() is True
        client.close()


@pytest.mark.faults
def test_a_server_left_by_a_sigkilled_kit_is_reused(server):
    script = ("import os, signal; from kit.cli import main; main(['redis', 'start']); "
              "os.kill(os.getpid(), signal.SIGKILL)")
    owner = subprocess.run([sys.executable, "-c", script], env={**os.environ, "KIT_STATE_DIR": str(server.state)},
                           capture_output=True, text=True, timeout=120)
    assert owner.returncode == -signal.SIGKILL, owner.stderr
    pid = server.status().pid
    assert pid is not None  # the server outlives its killed owner...
    status = _kit(server, "redis", "status")
    assert status.code == 0 and f"pid {pid}" in status.out
    again = _kit(server, "redis", "start")
    assert again.code == 0, again.all
    assert server.status().pid == pid  # ...and the next start simply reuses it


@pytest.mark.faults
def test_a_sigkilled_server_with_its_stale_pid_file_is_restarted(server):
    url = server.start()
    pid = server.status().pid
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not server.status().running, 10, f"kit to see redis-server {pid} gone")
    assert (server.home / "redis.pid").read_text().strip() == str(pid)  # stale: names a dead process
    assert _kit(server, "redis", "status").code == 3
    started = _kit(server, "redis", "start")
    assert started.code == 0, started.all
    assert server.status().pid not in (None, pid)
    client = _client(url)  # same port and secret: the URL users saw still works
    assert client.ping() is True
    client.close()


@pytest.mark.faults
def test_a_stale_pid_file_naming_a_live_stranger_leaves_the_stranger_alone(server):
    server.start()
    server.stop()
    stranger = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        (server.home / "redis.pid").write_text(f"{stranger.pid}\n")
        url = server.start()
        assert stranger.poll() is None
        client = _client(url)
        assert client.ping() is True
        client.close()
    finally:
        stranger.communicate(b"", timeout=30)


@pytest.mark.faults
@pytest.mark.parametrize("bad, says", [
    ("redis://:{pw}@localhost:99999/0", "is malformed"),
    ("redis://:{pw}@[::1/0", "is malformed"),
    ("postgresql://app:{pw}@localhost:6380/0", "not a Redis URL (scheme 'postgresql')"),
    ("redis://:{pw}@/0", "names no host"),
    ("redis://:{pw}@localhost:6380/zero", "a database that is not a number"),
    ("redis://:{pw}@127.0.0.1:{free}/0", "nothing accepts connections"),
    ("redis://:{pw}@127.0.0.1:{embedded}/0", "refused the password"),
])
@pytest.mark.parametrize("password", ["hunter2-secret", "hunter2@secret"])
def test_a_bad_redis_url_gives_one_clean_paragraph_without_the_password(server, bad, says, password):
    server.start()
    url = bad.format(pw=password, free=free_port(), embedded=server.status().port)
    reads_only = says in ("nothing accepts connections", "refused the password")  # `url` only parses
    for command in (("redis", "start"), ("redis", "url"), ("redis", "status")):
        result = _kit(server, *command, redis_url=url)
        assert "secret" not in result.all and server.secret not in result.all, result.all
        assert_no_traceback(result.all)
        if reads_only and command[1] == "url":
            assert result.code == 0 and "***" in result.out
            continue
        assert result.code == 2, result.all
        assert says in result.err and "REDIS_URL" in result.err
        assert result.err.startswith("kit: ") and result.err.count("\n") == 1  # one paragraph


def test_a_good_redis_url_overrides_the_embedded_server(server, tmp_path):
    url = server.start()
    elsewhere = EmbeddedRedis(tmp_path / "other-state")  # a kit whose own server never starts
    env = {"KIT_STATE_DIR": str(elsewhere.state), "REDIS_URL": url}
    started = kit_cli("redis", "start", env=env, timeout=120)
    assert started.code == 0 and "REDIS_URL is set" in started.out and server.secret not in started.all
    assert kit_cli("redis", "url", "--show-secret", env=env).out.strip() == url
    assert kit_cli("redis", "status", env=env).code == 3  # kit's own server stays stopped
    assert elsewhere.status().running is False


def test_scratch_targets_are_isolated_and_flushed_afterwards(server):
    base = server.start()
    with scratch_redis(base) as first, scratch_redis(base) as second:
        assert first != second and first.rsplit("/", 1)[0] == second.rsplit("/", 1)[0]
        one, two = _client(first), _client(second)
        try:
            one.set("entry", "first")
            assert two.get("entry") is None and one.get("entry") == b"first"
            two.set("entry", "second")
            assert one.get("entry") == b"first"
        finally:
            one.close()
            two.close()
    with pytest.raises(RuntimeError), scratch_redis(base) as third:
        _client(third).set("left", "behind")
        raise RuntimeError("the entry failed")
    control = _client(base)
    try:
        for url in (first, second, third):
            client = _client(url)
            assert client.dbsize() == 0  # flushed on the way out, even after a failure
            client.close()
        assert control.keys("kit:scratch:*") == []  # every claim released
    finally:
        control.close()


def test_a_scratch_claim_of_a_killed_process_is_taken_over(server):
    base = server.start()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    control = _client(base)
    try:
        databases = int(control.config_get("databases")["databases"])
        for index in range(1, databases):  # every scratch database held by a process that is gone
            control.set(f"kit:scratch:{index}", f"{socket.gethostname()}|{dead.stdout.strip()}|x", ex=600)
        with scratch_redis(base) as url:
            assert _client(url).ping() is True
        assert len(control.keys("kit:scratch:*")) == databases - 2  # one taken over, then released
    finally:
        control.flushdb()
        control.close()


def test_a_users_database_that_holds_keys_is_never_flushed(server):
    """On a Redis the user points kit at, a scratch database must be one kit found empty: data that was there
    before is never deleted (the first free index holds a key here, so kit refuses it and says why)."""
    base = server.start()
    held = _client(base.rsplit("/", 1)[0] + "/1")
    try:
        held.set("customer:1", "keep me")
        with pytest.raises(RedisError, match="holds keys kit did not put there"), scratch_redis(base):
            pass
        assert held.get("customer:1") == b"keep me"
        assert _client(base).keys("kit:scratch:*") == []  # the claim was released
    finally:
        held.flushdb()
        held.close()


@pytest.mark.faults
@pytest.mark.parametrize("given", ["REDIS_URL", "--redis-url"])
@pytest.mark.parametrize("fault, says", [("unreachable", "nothing accepts connections"),
                                         ("password", "refused the password")])
def test_a_bad_redis_url_stops_diagnose_and_scenarios_before_any_test_runs(server, run_kit, target, tmp_path, given,
                                                                            fault, says):
    """A Redis the suite cannot use is the user's to fix: one paragraph and exit 2 before anything runs, not a
    run of failing Redis tests (diagnose) or entries recorded as a database gone (scenarios)."""
    from kit.catalogue.scenario import assemble, get_scenario

    password = "hunter2-secret"
    port = server.status().port if fault == "password" and server.start() else free_port()
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    suite = assemble(get_scenario("redis-client-per-test-loop"), "broken", tmp_path / "suite")
    env = {"REDIS_URL": url} if given == "REDIS_URL" else {"REDIS_URL": ""}
    flag = ["--redis-url", url] if given == "--redis-url" else []
    for command in (["diagnose", str(suite), *flag], ["scenarios", "run", "redis-client-per-test-loop", *flag]):
        result = run_kit(*command, env=env, timeout=120)
        assert result.code == 2, result.all
        assert_no_traceback(result.all)
        assert password not in result.all and says in result.err
        assert result.err.startswith("kit: ") and result.err.count("\n") == 1  # one paragraph
        assert "passed" not in result.all and "database went away" not in result.all  # nothing ran
