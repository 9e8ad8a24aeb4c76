"""The recorder's per-object loop evidence (``object`` events, kit/recorder/transports.py) and diagnose's use of it.

Everything is real: throwaway pytest projects run in subprocesses with ``-p kit.plugin`` (pytest-asyncio, a loop
per test), raw asyncio streams to a local echo server, redis-py on kit's embedded Redis, httpx on a local HTTP/1.1
server, SQLAlchemy on psycopg on the embedded PostgreSQL.
"""

from __future__ import annotations

import contextlib
import re
import socketserver
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kit.db.redis_target import scratch_redis
from kit.db.target import scratch_database
from kit.diagnose import UNKNOWN, classify, diagnose
from kit.run.runner import PytestRun, overall_outcome, parse_events

INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+)")

RAW_SUITE = """
    import asyncio
    import os

    CACHE = {}  # the connection the first test opened, kept for the next one

    async def test_opens():
        reader, writer = await asyncio.open_connection("127.0.0.1", int(os.environ["ECHO_PORT"]))
        writer.write(b"ping")
        assert await reader.readexactly(4) == b"ping"
        CACHE["conn"] = reader, writer

    async def test_reuses():
        reader, writer = CACHE["conn"]
        writer.write(b"pong")
        assert await reader.readexactly(4) == b"pong"
"""
REDIS_TEST = textwrap.dedent("""
    async def test_{name}():
        await client.set("{name}", "1")
        assert await client.get("{name}") == b"1"
""")
REDIS_PER_TEST = textwrap.dedent("""
    async def test_{name}():
        client = redis.asyncio.Redis.from_url(os.environ["REDIS_URL"])
        try:
            await client.set("{name}", "1")
            assert await client.get("{name}") == b"1"
        finally:
            await client.aclose()
""")
HTTPX_TEST = textwrap.dedent("""
    async def test_{name}({fixture}):
        assert (await client.get("/")).text == "ok"
""")
PSYCOPG_TEST = textwrap.dedent("""
    async def test_{name}():
        async with engine.connect() as conn:
            assert (await conn.execute(text("select 1"))).scalar() == 1
""")
NAMES = ("one", "two", "three")


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        with contextlib.suppress(OSError):  # a client whose process ended resets the connection
            while data := self.request.recv(1024):
                self.request.sendall(data)


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: httpcore keeps the connection in its pool for the next request

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def handle(self) -> None:
        with contextlib.suppress(OSError):
            super().handle()

    def log_message(self, *args: object) -> None:
        pass


def _serving(server: socketserver.TCPServer) -> Iterator[int]:
    """Serve in a daemon thread (the socket already listens: no wait needed); yields the port."""
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def echo_port() -> Iterator[int]:
    yield from _serving(socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo))


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    for port in _serving(ThreadingHTTPServer(("127.0.0.1", 0), _Ok)):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def redis_url() -> Iterator[str]:
    with scratch_redis() as url:  # kit's real embedded Redis, started on demand
        yield url


@pytest.fixture
def project(pytester, monkeypatch):
    monkeypatch.delenv("KIT_RECORD_FILE", raising=False)  # else the records would go there
    monkeypatch.delenv("KIT_RECORD_OWNER", raising=False)  # else an outer kit recording would silence this one
    pytester.makeini(INI)
    return pytester


def _outcomes(result) -> dict[str, str]:
    found = (OUTCOME.match(line) for line in result.outlines)
    return {m.group(2): m.group(1) for m in found if m}


def _recorded(pytester, *, compare: bool = False) -> PytestRun:
    """The project run with kit's recorder, as the run diagnose classifies; with ``compare``, also run without
    it, and the outcomes of every test must be the same."""
    result = pytester.runpytest_subprocess("-p", "kit.plugin", "-p", "no:cacheprovider", "-rA")
    if compare:
        plain = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
        assert _outcomes(result) == _outcomes(plain) and _outcomes(plain), (result.outlines, plain.outlines)
    lines = (pytester.path / ".kit" / "records.jsonl").read_text().splitlines()
    cases, evidence, config = parse_events(lines)
    return PytestRun(overall_outcome(int(result.ret), cases, False), int(result.ret), cases, evidence, config, 0.0,
                     "\n".join(result.outlines))


def _objects(run: PytestRun) -> list[dict]:
    return [e for e in run.events if e.get("event") == "object"]


def _finding(run: PytestRun, nodeid: str):
    diagnosis = classify(run)
    found = {f.nodeid: f for f in diagnosis.findings}
    assert nodeid in found, [(f.nodeid, f.cause, f.evidence) for f in diagnosis.findings]
    return found[nodeid]


def _on_the_recorded_loops(run: PytestRun, event: dict) -> None:
    """The event's loops are the ones the recorder noted for the opening test's phase and the using test's phase."""
    case = {c.nodeid: c for c in run.cases}
    assert event["opened_on"] in case[event["opened_nodeid"]].loops[event["opened_phase"]], (event, run.cases)
    if event["action"] == "cross-loop-use":
        assert event["loop"] in case[event["nodeid"]].loops[event["phase"]], (event, run.cases)
        assert event["opened_on"] != event["loop"], event


def _names_the_loops(evidence: list[str], event: dict) -> None:
    text = "\n".join(evidence)
    assert f"opened on {event['opened_on']} (call of {event['opened_nodeid']}" in text, text
    assert f"used on {event['loop']} (call of {event['nodeid']})" in text, text


# -- a raw connection of the user's own ------------------------------------------------------------------
def test_a_raw_connection_reused_on_the_next_tests_loop_is_one_object_event(project, monkeypatch, echo_port):
    monkeypatch.setenv("ECHO_PORT", str(echo_port))
    project.makepyfile(test_raw=RAW_SUITE)
    run = _recorded(project, compare=True)
    assert [(c.nodeid, c.outcome) for c in run.cases] == [("test_raw.py::test_opens", "passed"),
                                                          ("test_raw.py::test_reuses", "failed")]
    [event] = _objects(run)
    assert (event["action"], event["library"], event["peer"]) == ("cross-loop-use", "your code",
                                                                  f"127.0.0.1:{echo_port}"), event
    assert event["where"].endswith("/test_raw.py"), event
    _on_the_recorded_loops(run, event)
    assert (event["opened_nodeid"], event["opened_phase"]) == ("test_raw.py::test_opens", "call"), event
    assert (event["nodeid"], event["phase"]) == ("test_raw.py::test_reuses", "call"), event


def test_a_raw_connection_is_unknown_to_the_catalogue_but_named_in_the_evidence(project, monkeypatch, echo_port):
    monkeypatch.setenv("ECHO_PORT", str(echo_port))
    project.makepyfile(test_raw=RAW_SUITE)
    run = _recorded(project)
    [event] = _objects(run)
    finding = _finding(run, "test_raw.py::test_reuses")
    assert finding.cause == UNKNOWN, (finding.cause, finding.evidence)
    assert any(line.startswith(f"asyncio connection to 127.0.0.1:{echo_port} opened on L")
               for line in finding.evidence), finding.evidence
    _names_the_loops(finding.evidence, event)
    assert "objects" in finding.basis, finding.basis


def test_a_connection_closed_after_its_loop_closed(project, monkeypatch, echo_port):
    monkeypatch.setenv("ECHO_PORT", str(echo_port))
    project.makepyfile(test_closed="""
        import asyncio
        import os

        import pytest

        @pytest.fixture
        def writer():
            async def connect():
                return await asyncio.open_connection("127.0.0.1", int(os.environ["ECHO_PORT"]))

            _, writer = asyncio.run(connect())  # its loop is closed when asyncio.run returns
            yield writer
            writer.close()

        def test_holds(writer):
            assert not writer.is_closing()
    """)
    run = _recorded(project, compare=True)
    [event] = _objects(run)
    assert (event["action"], event["library"], event["peer"]) == ("closed-after-loop", "your code",
                                                                  f"127.0.0.1:{echo_port}"), event
    assert (event["opened_nodeid"], event["opened_phase"]) == ("test_closed.py::test_holds", "setup"), event
    assert (event["nodeid"], event["phase"], event["loop"]) == ("test_closed.py::test_holds", "teardown", None)
    assert event["where"].endswith("/test_closed.py"), event
    _on_the_recorded_loops(run, event)
    [case] = run.cases
    assert (case.outcome, case.phase) == ("error", "teardown"), case  # closing needs its loop: asyncio raises
    finding = _finding(run, case.nodeid)
    assert any(f"opened on {event['opened_on']}" in line and "closed after that loop had closed (teardown of "
               in line for line in finding.evidence), finding.evidence


# -- redis-py ------------------------------------------------------------------------------------------
def test_a_module_level_redis_client_is_traced_to_redis_and_diagnosed(project, monkeypatch, redis_url):
    monkeypatch.setenv("REDIS_URL", redis_url)
    project.makepyfile(test_redis="import os\n\nimport redis.asyncio\n\n"
                       "client = redis.asyncio.Redis.from_url(os.environ['REDIS_URL'])\n"
                       + "".join(REDIS_TEST.format(name=name) for name in NAMES))
    run = _recorded(project, compare=True)
    assert [c.outcome for c in run.cases] == ["passed", "failed", "passed"], run.output
    [event] = _objects(run)
    assert (event["action"], event["library"], event["where"]) == (
        "cross-loop-use", "redis", "redis/asyncio/connection.py"), event
    assert (event["opened_nodeid"], event["nodeid"]) == ("test_redis.py::test_one", "test_redis.py::test_two")
    _on_the_recorded_loops(run, event)
    finding = _finding(run, "test_redis.py::test_two")
    assert finding.cause == "redis-client-per-test-loop", (finding.cause, finding.evidence)
    assert any("redis connection to 127.0.0.1:" in line for line in finding.evidence), finding.evidence
    _names_the_loops(finding.evidence, event)


# -- httpx ---------------------------------------------------------------------------------------------
def test_a_module_level_httpx_client_is_traced_to_httpcore_and_diagnosed(project, monkeypatch, http_url):
    monkeypatch.setenv("HTTP_URL", http_url)
    project.makepyfile(test_http="import os\n\nimport httpx\n\n"
                       "client = httpx.AsyncClient(base_url=os.environ['HTTP_URL'])\n"
                       + "".join(HTTPX_TEST.format(name=name, fixture="") for name in NAMES))
    run = _recorded(project, compare=True)
    [event] = _objects(run)
    # AnyIO opens the socket in a task of its own: the library is named from the first use
    assert (event["action"], event["library"], event["peer"]) == (
        "cross-loop-use", "httpcore", http_url.removeprefix("http://")), event
    assert event["where"] == "httpcore/_backends/anyio.py", event
    assert (event["opened_nodeid"], event["nodeid"]) == ("test_http.py::test_one", "test_http.py::test_two")
    _on_the_recorded_loops(run, event)
    failing = [c.nodeid for c in run.cases if c.outcome != "passed"]
    assert failing == ["test_http.py::test_two"], run.output
    finding = _finding(run, "test_http.py::test_two")
    assert finding.cause == "httpx-client-across-loops", (finding.cause, finding.evidence)
    assert any("httpcore connection to " in line for line in finding.evidence), finding.evidence
    _names_the_loops(finding.evidence, event)


# -- suites that keep their loops straight ---------------------------------------------------------------
def test_a_client_per_test_writes_no_object_event_and_is_diagnosed_clean(project, redis_url, http_url):
    project.makepyfile(
        test_redis="import os\n\nimport redis.asyncio\n" + "".join(REDIS_PER_TEST.format(name=n) for n in NAMES),
        test_http="import os\n\nimport httpx\nimport pytest\n\n"
                  "@pytest.fixture\nasync def client():\n"
                  "    async with httpx.AsyncClient(base_url=os.environ['HTTP_URL']) as client:\n"
                  "        yield client\n" + "".join(HTTPX_TEST.format(name=n, fixture="client") for n in NAMES))
    diagnosis = diagnose(project.path, None, env={"REDIS_URL": redis_url, "HTTP_URL": http_url}, timeout=120)
    run = diagnosis.run
    assert (diagnosis.passed, diagnosis.failed, diagnosis.errors) == (6, 0, 0), run.output
    assert len({c.loops["call"][0] for c in run.cases}) == 6, [c.loops for c in run.cases]  # a loop per test
    assert _objects(run) == []
    assert diagnosis.findings == [], [(f.nodeid, f.cause) for f in diagnosis.findings]


# -- psycopg: not bound to a loop ------------------------------------------------------------------------
def test_a_module_level_psycopg_engine_crosses_loops_and_passes_with_no_finding(project, target):
    project.makepyfile(test_psycopg="import os\n\nfrom sqlalchemy import text\n"
                       "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
                       "engine = create_async_engine(os.environ['DATABASE_URL'])\n"
                       + "".join(PSYCOPG_TEST.format(name=name) for name in NAMES))
    with scratch_database(target, "objects_psycopg") as db:
        diagnosis = diagnose(project.path, db.url_for("psycopg"), timeout=120)
    run = diagnosis.run
    assert (diagnosis.passed, diagnosis.failed, diagnosis.errors) == (3, 0, 0), run.output
    # measured, not assumed: the pooled connection of the first test's loop was taken by the next tests' loops
    crossed = [e for e in run.events if e.get("event") == "pool" and e.get("action") == "cross-loop-checkout"]
    assert [e["nodeid"] for e in crossed] == ["test_psycopg.py::test_two", "test_psycopg.py::test_three"], crossed
    assert _objects(run) == []
    assert diagnosis.findings == [], [(f.nodeid, f.cause) for f in diagnosis.findings]
