"""`kit probe`: the four checks against the real embedded server, and one clear paragraph per failure."""

from __future__ import annotations

import json
import socket

import pytest
from conftest import assert_no_traceback


def test_probe_json_against_the_embedded_server(target, run_kit):
    result = run_kit("probe", "--json", "--repeat", "10")
    assert result.code == 0, result.all
    payload = json.loads(result.out)
    assert set(payload) == {"ok", "target", "target_kind", "server_version", "checks", "latency_ms"}
    assert payload["ok"] is True and payload["target_kind"] == "embedded"
    assert [c["name"] for c in payload["checks"]] == ["tcp", "asyncpg", "sqlalchemy", "pytest"]
    assert all(c["ok"] and c["error"] is None and c["seconds"] > 0 for c in payload["checks"])
    assert payload["server_version"].startswith("PostgreSQL")
    assert payload["latency_ms"]["n"] == 10 and 0 < payload["latency_ms"]["p50"] <= payload["latency_ms"]["p95"]
    assert "***" in payload["target"] and target.password not in result.all


def test_probe_appends_its_records(target, run_kit):
    from kit.run.records import load_records

    before = len(load_records(kind="probe"))
    assert run_kit("probe", "--repeat", "3").code == 0
    after = load_records(kind="probe")
    assert list(after["subject"][before:]) == ["tcp", "asyncpg", "sqlalchemy", "pytest", "latency"]
    assert after["v_postgresql"].iloc[-1].startswith("PostgreSQL")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.faults
@pytest.mark.parametrize("make_url, paragraph", [
    (lambda t: f"postgresql://app:Sup3rSecretPw@127.0.0.1:{_closed_port()}/app_test", "port closed"),
    (lambda t: "postgresql://app:Sup3rSecretPw@no-such-host.invalid:5432/app_test", "is unknown"),
    (lambda t: t.url.replace(t.password, "Sup3rSecretPw"), "authentication failed"),
    (lambda t: t.with_database("no_such_test_db").url, "has no database 'no_such_test_db'"),
])
def test_probe_failures_are_one_paragraph_without_secrets(target, run_kit, make_url, paragraph):
    result = run_kit("probe", "--url", make_url(target), "--timeout", "3")
    assert result.code == 1
    assert paragraph in result.err
    assert_no_traceback(result.all)
    assert "Sup3rSecretPw" not in result.all and target.password not in result.all
    as_json = run_kit("probe", "--json", "--url", make_url(target), "--timeout", "3")
    payload = json.loads(as_json.out)
    assert payload["ok"] is False and paragraph in payload["checks"][-1]["error"]


@pytest.mark.faults
def test_probe_times_out_instead_of_hanging(run_kit):
    with socket.socket() as silent:  # accepts TCP but never speaks PostgreSQL
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        result = run_kit("probe", "--url", f"postgresql://a:pw123456@127.0.0.1:{port}/app_test", "--timeout", "1",
                         timeout=60)
    assert result.code == 1 and "No answer" in result.err
    assert_no_traceback(result.all)
