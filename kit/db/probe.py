"""Step 2.1: prove the database is reachable, outside pytest and inside it.

The checks run in order, each timed, and stop at the first failure (later ones could only fail the same
way): TCP, a raw asyncpg connection, a SQLAlchemy ``AsyncEngine``, and the same query from inside a real
pytest subprocess through a correctly written async fixture. When all pass, the loop/session errors of a
suite cannot be blamed on the network. Then ``repeat`` queries measure latency.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kit.common.versions import collect_versions
from kit.db.target import Target, connect, explain_connection_error
from kit.errors import TargetError
from kit.run.records import RunRecord, append_records, new_run_id

__all__ = ["Check", "ProbeResult", "probe", "PYTEST_CHECK"]


@dataclass
class Check:
    name: str
    ok: bool
    seconds: float
    error: str | None = None


@dataclass
class ProbeResult:
    ok: bool
    target: str
    target_kind: str
    server_version: str | None
    checks: list[Check] = field(default_factory=list)
    latency_ms: dict = field(default_factory=lambda: {"p50": 0.0, "p95": 0.0, "n": 0})

    def as_dict(self) -> dict:
        return asdict(self)


PYTEST_CHECK = '''\
"""Written by `kit probe`: the same query from inside pytest, through a correctly scoped async fixture."""
import os

import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool


@pytest_asyncio.fixture
async def engine():
    # Created, used and disposed on the test's own loop: nothing outlives it.
    engine = create_async_engine(os.environ["DATABASE_URL"], poolclass=NullPool)
    yield engine
    await engine.dispose()


async def test_database_answers_inside_pytest(engine):
    async with engine.connect() as conn:
        assert (await conn.execute(text("select 1"))).scalar() == 1
'''
PYTEST_INI = """[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
asyncio_default_test_loop_scope = function
"""


async def _timed(name: str, step: Callable[[], Awaitable[None]], target: Target, timeout: float) -> Check:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(step(), timeout)
    except TargetError as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a paragraph
        error = str(explain_connection_error(exc, target, timeout))
    else:
        error = None
    return Check(name, error is None, round(time.perf_counter() - started, 6), error)


async def _probe(target: Target, repeat: int, timeout: float) -> ProbeResult:
    result = ProbeResult(False, target.masked, target.kind, None)
    latencies: list[float] = []

    async def tcp() -> None:
        loop = asyncio.get_running_loop()
        await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        _, writer = await asyncio.open_connection(target.host, target.port)
        writer.close()
        await writer.wait_closed()

    async def raw_asyncpg() -> None:
        conn = await connect(target, timeout)
        try:
            result.server_version = (await conn.fetchval("select version()")).split(" on ")[0]
            for _ in range(repeat):
                started = time.perf_counter()
                await conn.fetchval("select 1")
                latencies.append((time.perf_counter() - started) * 1000)
        finally:
            await conn.close()

    from sqlalchemy import text  # imported before the clock starts: the check times connecting, not importing
    from sqlalchemy.ext.asyncio import create_async_engine

    async def sqlalchemy_engine() -> None:
        engine = create_async_engine(target.url, connect_args={"timeout": timeout})
        try:
            async with engine.connect() as conn:
                assert (await conn.execute(text("select 1"))).scalar() == 1
        finally:
            await engine.dispose()

    async def inside_pytest() -> None:
        await asyncio.to_thread(_pytest_check, target, timeout)

    steps = (("tcp", tcp), ("asyncpg", raw_asyncpg), ("sqlalchemy", sqlalchemy_engine), ("pytest", inside_pytest))
    for name, step in steps:
        budget = timeout * 2 + 60 if name == "pytest" else timeout + repeat * timeout * (name == "asyncpg")
        check = await _timed(name, step, target, budget)
        result.checks.append(check)
        if not check.ok:
            break
    result.ok = len(result.checks) == len(steps) and all(c.ok for c in result.checks)
    if latencies:
        ordered = sorted(latencies)
        result.latency_ms = {"p50": round(statistics.median(ordered), 3),
                             "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3),
                             "n": len(ordered)}
    return result


def _pytest_check(target: Target, timeout: float) -> None:
    from kit.run.runner import run_pytest

    with tempfile.TemporaryDirectory(prefix="kit-probe-") as directory:
        project = Path(directory)
        (project / "pytest.ini").write_text(PYTEST_INI)
        (project / "test_probe.py").write_text(PYTEST_CHECK)
        run = run_pytest(project, target.url, timeout=timeout * 2 + 55)
    if run.outcome != "passed":
        failure = run.first_failure
        detail = f"{failure.error_type}: {failure.message}" if failure else run.output[-600:]
        raise TargetError(f"The query works outside pytest but not inside it ({run.outcome}): {detail}")


def probe(target: Target, repeat: int = 20, timeout: float = 5.0, record: bool = True) -> ProbeResult:
    """Run every check against ``target`` and append one record per check (and the latency) to the store."""
    from kit.common.aio import run_sync

    result = run_sync(_probe(target, max(1, repeat), timeout))
    if record:
        run_id, versions = new_run_id(), collect_versions(result.server_version)
        records = [RunRecord("probe", c.name, "passed" if c.ok else "failed", error_message=c.error,
                             error_type=None if c.ok else "ConnectionCheckFailed", duration_s=c.seconds,
                             versions=versions, target_kind=target.kind, run_id=run_id) for c in result.checks]
        if result.latency_ms["n"]:
            records.append(RunRecord("probe", "latency", "passed", duration_s=result.latency_ms["p50"] / 1000,
                                     versions=versions, target_kind=target.kind, run_id=run_id,
                                     details=dict(result.latency_ms)))
        append_records(records)
    return result
