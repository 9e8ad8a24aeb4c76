"""Faults against real processes: the server killed mid-run, kit killed mid-run, two kits at once,
secrets in URLs, and the destructive-operation guard. Run alone with ``pytest -m faults``."""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest
from conftest import REPO, assert_no_traceback, leftover_processes, process_environment, wait_until

from kit.common.aio import run_sync
from kit.db.embedded import EmbeddedServer
from kit.db.target import Target, connect
from kit.run.records import load_records

pytestmark = pytest.mark.faults
FAST = ["strict-mode-async-fixture", "fixture-loop-scope-mismatch", "expired-attribute-missing-greenlet",
        "module-engine-per-test-loop"]


@pytest.fixture
def own_kit(tmp_path: Path):
    """A kit of its own (state, data, embedded server) that a test may break; stopped afterwards."""
    env = {"KIT_STATE_DIR": str(tmp_path / "state"), "KIT_DATA_DIR": str(tmp_path / "data")}
    yield env
    EmbeddedServer(Path(env["KIT_STATE_DIR"])).stop()


def _spawn(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kit", *args], cwd=REPO, env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_records(env: dict[str, str], kind: str, count: int, timeout: float = 120) -> None:
    path = Path(env["KIT_DATA_DIR"]) / "runs.jsonl"
    wait_until(lambda: path.exists() and path.read_text().count(f'"kind": "{kind}"') >= count, timeout,
               f"{count} {kind} record(s) in {path}")


def _leftovers(env: dict[str, str], marker: str) -> list[str]:
    return leftover_processes(env["KIT_DATA_DIR"], marker)


def _record_file_of_a_run(env: dict[str, str]) -> Path | None:
    """The recorder's file (its ``KIT_RECORD_FILE``) of a pytest run this kit started, once one runs."""
    for pid in _leftovers(env, "pytest"):  # kit itself may match too (its arguments hold pytest's tmp dir)
        path = process_environment(pid).get("KIT_RECORD_FILE")
        if path:
            return Path(path)
    return None


def _databases(target: Target, pattern: str) -> list[str]:
    async def query() -> list[str]:
        conn = await connect(target)
        try:
            return [r[0] for r in await conn.fetch("select datname from pg_database where datname like $1", pattern)]
        finally:
            await conn.close()

    return run_sync(query())


def test_server_killed_mid_scenarios_run(own_kit, tmp_path):
    server = EmbeddedServer(Path(own_kit["KIT_STATE_DIR"]))
    server.start()
    out = tmp_path / "out.json"
    kit = _spawn("scenarios", "run", *FAST, "--variant", "broken", "--driver", "asyncpg", "--json", str(out),
                 env=own_kit)
    _wait_for_records(own_kit, "scenario", 1)
    os.kill(server.status().pid, signal.SIGKILL)
    stdout, stderr = kit.communicate(timeout=180)
    assert kit.returncode == 1, stderr
    assert "the database went away" in stderr, stderr
    assert_no_traceback(stdout + stderr)
    rows = json.loads(out.read_text())
    assert len(rows) == len(FAST) and rows[0]["reproduced"]
    assert rows[-1]["outcome"] == "error" and rows[-1]["first_error_type"] == "DatabaseGone"
    recorded = load_records(Path(own_kit["KIT_DATA_DIR"]) / "runs.jsonl", kind="scenario")
    assert len(recorded) == len(FAST) and recorded["error_type"].iloc[0] != "DatabaseGone"
    assert recorded["error_type"].iloc[-1] == "DatabaseGone"
    assert not _leftovers(own_kit, "kit-strict-mode") and not _leftovers(own_kit, "kit-module-engine")


def test_sigkilled_scenarios_run_leaves_nothing_and_the_next_run_cleans_up(own_kit):
    kit = _spawn("scenarios", "run", "module-engine-per-test-loop", "leaked-connection-hang", "--variant", "broken",
                 env=own_kit)
    _wait_for_records(own_kit, "scenario", 1)
    wait_until(lambda: _leftovers(own_kit, "kit-leaked-connection-hang"), 60,
               "the hang entry's pytest run to start")
    kit.kill()
    kit.wait(30)
    wait_until(lambda: not _leftovers(own_kit, "kit-leaked-connection-hang"), 10,
               "the hung pytest run to die with the killed kit")
    target = Target(EmbeddedServer(Path(own_kit["KIT_STATE_DIR"])).start(), "embedded")
    assert _databases(target, f"kit\\_test\\_%\\_{kit.pid}\\_%")  # the killed run's scratch database...
    again = _spawn("scenarios", "run", "strict-mode-async-fixture", env=own_kit)
    assert again.wait(120) == 0
    assert not _databases(target, f"kit\\_test\\_%\\_{kit.pid}\\_%")  # ...dropped by the next run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(load_records(Path(own_kit["KIT_DATA_DIR"]) / "runs.jsonl", kind="scenario")) >= 3


def test_sigkilled_investigate_then_the_next_one_works(own_kit, tmp_path):
    out = tmp_path / "reports"
    kit = _spawn("investigate", "--out", str(out), "01_connectivity", env=own_kit)
    wait_until(lambda: _leftovers(own_kit, "ipykernel"), 120, "kit investigate to start the notebook's kernel")
    kit.kill()
    kit.wait(30)
    again = _spawn("investigate", "--out", str(out), "01_connectivity", env=own_kit)
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stdout + stderr
    assert (out / "index.html").exists() and not list(out.glob(".*.partial"))


def test_two_scenario_runs_at_once_share_server_and_records_without_clobbering(own_kit, tmp_path):
    first = _spawn("scenarios", "run", FAST[0], "--json", str(tmp_path / "a.json"), env=own_kit)
    second = _spawn("scenarios", "run", FAST[1], "--json", str(tmp_path / "b.json"), env=own_kit)
    assert first.wait(180) == 0 and second.wait(180) == 0
    assert json.loads((tmp_path / "a.json").read_text())[0]["scenario"] == FAST[0]
    assert json.loads((tmp_path / "b.json").read_text())[0]["scenario"] == FAST[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every line complete
        records = load_records(Path(own_kit["KIT_DATA_DIR"]) / "runs.jsonl", kind="scenario")
    assert sorted(set(records["subject"])) == sorted(FAST[:2]) and records["run_id"].nunique() == 2


def test_two_investigations_into_one_directory_both_finish(own_kit, tmp_path):
    out = tmp_path / "reports"
    runs = [_spawn("investigate", "--out", str(out), "01_connectivity", env=own_kit) for _ in range(2)]
    results = [run.communicate(timeout=400) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], results
    assert any("waiting for it" in stdout for stdout, _ in results)
    assert "passed" in (out / "index.html").read_text()


def test_no_secret_anywhere_after_runs_with_a_password_in_the_url(own_kit, tmp_path, run_kit):
    url = EmbeddedServer(Path(own_kit["KIT_STATE_DIR"])).start()
    password = Target(url, "url").password
    out = tmp_path / "reports"
    outputs = [run_kit(*args, env={**own_kit, "DATABASE_URL": url}) for args in (
        ("probe",), ("probe", "--json"), ("scenarios", "run", FAST[0], "--json", str(tmp_path / "s.json")),
        ("stage", "run", "simplified", "--json", str(tmp_path / "st.json")),
        ("investigate", "--out", str(out), "01_connectivity"))]
    assert all(o.code in (0, 1) for o in outputs), [o.all[-500:] for o in outputs]
    written = [p for d in (out, Path(own_kit["KIT_DATA_DIR"]), tmp_path) for p in d.rglob("*") if p.is_file()
               and "state" not in p.parts]
    assert written and all(password not in p.read_text(errors="replace") for p in written)
    assert all(password not in o.all for o in outputs)
    assert any("***" in o.out for o in outputs)


def test_the_guard_refuses_non_test_databases_and_no_environment_variable_lifts_it(own_kit, run_kit):
    url = EmbeddedServer(Path(own_kit["KIT_STATE_DIR"])).start()
    production = Target(url, "url").with_database("postgres").url
    for env in ({}, {"KIT_ALLOW_ANY_DATABASE": "1", "ALLOW_ANY_DATABASE": "true"}):
        result = run_kit("scenarios", "run", FAST[0], "--url", production, env={**own_kit, **env})
        assert result.code == 2 and "does not contain 'test'" in result.err
        assert_no_traceback(result.all)
    allowed = run_kit("scenarios", "run", FAST[0], "--url", production, "--allow-any-database", env=own_kit)
    assert allowed.code == 0, allowed.all


@pytest.mark.parametrize("url, words", [
    ("postgresql://app:pw@db:notaport/app_test", "malformed"),
    ("sqlite:///tmp/app_test.db", "not a PostgreSQL URL"),
    ("postgresql://app:pw@127.0.0.1:5/app_test", "port closed"),
])
def test_bad_database_urls_from_the_environment(own_kit, run_kit, url, words):
    result = run_kit("scenarios", "run", FAST[0], env={**own_kit, "DATABASE_URL": url})
    assert result.code != 0 and words in result.err
    assert_no_traceback(result.all)


def test_server_killed_mid_diagnose(own_kit, tmp_path):
    from kit.reference import assemble_stage

    server = EmbeddedServer(Path(own_kit["KIT_STATE_DIR"]))
    server.start()
    suite = assemble_stage("full", tmp_path / "suite")
    kit = _spawn("diagnose", str(suite), "--json", str(tmp_path / "d.json"), env=own_kit)
    record = wait_until(lambda: _record_file_of_a_run(own_kit), 120, "kit diagnose to start the suite's pytest run")
    wait_until(lambda: record.exists() and '"event": "test"' in record.read_text(), 120,
               "the suite's first test to finish (its end event in the recorder's file)")
    os.kill(server.status().pid, signal.SIGKILL)
    stdout, stderr = kit.communicate(timeout=300)
    assert kit.returncode == 1
    assert "The database went away during the run" in stderr
    assert_no_traceback(stdout + stderr)
    assert not _leftovers(own_kit, "pytest")
    recorded = load_records(Path(own_kit["KIT_DATA_DIR"]) / "runs.jsonl", kind="diagnose")
    assert recorded["error_type"].iloc[-1] == "DatabaseGone"


def _starting_up_server() -> tuple[int, threading.Thread, socket.socket]:
    """A TCP server that answers like PostgreSQL while it starts up: SQLSTATE 57P03 to every client."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    fields = b"SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0\0"
    refusal = b"E" + struct.pack("!I", len(fields) + 4) + fields

    def serve() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with client:
                client.settimeout(5)
                header = client.recv(8)
                if len(header) == 8 and struct.unpack("!II", header)[1] == 80877103:  # SSLRequest
                    client.sendall(b"N")
                    length = struct.unpack("!I", client.recv(4))[0]
                    client.recv(length - 4)
                else:
                    client.recv(65536)
                client.sendall(refusal)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread, listener


def test_a_server_still_starting_up_gets_its_own_paragraph(run_kit):
    port, _, listener = _starting_up_server()
    try:
        result = run_kit("probe", "--url", f"postgresql://app:pw123456@127.0.0.1:{port}/app_test", "--timeout", "3",
                         timeout=60)
    finally:
        listener.close()
    assert result.code == 1
    assert "not accepting connections yet" in result.err and "starting up" in result.err
    assert_no_traceback(result.all)
    assert "pw123456" not in result.all
