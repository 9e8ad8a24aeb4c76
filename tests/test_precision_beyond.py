"""Precision beyond the catalogue's own shapes: suites kit has never seen, written the way public projects write them.

Each suite under ``tests/suites/beyond/`` is a small project of its own (its README states the shape
and the diagnosis measured with plain pytest): a Redis connection pool made at import behind a FastAPI dependency, an
httpx client cached by ``functools.lru_cache`` calling a real keep-alive upstream, the same Redis shape done right, a
module-level engine on psycopg 3, an AnyIO suite with class-scoped fixtures, and one AsyncSession carried by a
module-scoped sync fixture over a pooled engine. Each is run once with plain pytest and once diagnosed, concurrently,
each on its own scratch database (and scratch Redis database); kit's counts must be pytest's and its diagnosis the
one the README states. One variant (the shortener with a pooled database beside its Redis pool) keeps the evidence
per test: its database failures are the engine's, not an earlier test's redis connection (kit once blamed them on it).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import diagnosis_counts, plain_pytest_counts

from kit.db.redis_target import scratch_redis
from kit.db.target import scratch_database
from kit.diagnose import diagnose
from kit.diagnose.model import Diagnosis
from kit.diagnose.render import render_text

SUITES = Path(__file__).parent / "suites" / "beyond"
NAMES = ("redis_pool_dependency", "httpx_lazy_singleton", "redis_client_per_test_green", "psycopg_module_engine",
         "anyio_class_scoped", "session_carried_module_scope")
REDIS = {"redis_pool_dependency", "redis_client_per_test_green", "redis_pool_engine_after_redis"}
DRIVER = {"psycopg_module_engine": "psycopg"}  # the driver kit diagnose picks for it (its requirements.txt)

# A variant: the files that differ from (OVERLAY) or add to (APPEND) the suite it is based on. Here the shortener
# also has a pooled asyncpg engine made at import (most apps have a database and a cache); its last three tests use
# only the database.
BASED_ON = {"redis_pool_engine_after_redis": "redis_pool_dependency"}
OVERLAY = {"redis_pool_engine_after_redis": {
    "shortlinks/db.py": '''import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine(os.environ["DATABASE_URL"])


async def tables_named(name: str) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text("select count(*) from pg_catalog.pg_class where relname = :n"), {"n": name})
''',
    "tests/test_links.py": '''async def test_shorten_returns_the_slug(api):
    response = await api.post("/links", json={"target": "https://example.org/docs", "slug": "docs"})
    assert response.status_code == 201


async def test_following_a_link_redirects(api):
    await api.post("/links", json={"target": "https://example.org/blog", "slug": "blog"})
    assert (await api.get("/blog")).status_code == 307


async def test_database_answers(api):
    assert (await api.get("/health/db")).json() == {"audit_tables": 0}


async def test_database_answers_again(api):
    assert (await api.get("/health/db")).json() == {"audit_tables": 0}


async def test_database_answers_once_more(api):
    assert (await api.get("/health/db")).json() == {"audit_tables": 0}
''',
}}
APPEND = {"redis_pool_engine_after_redis": {"shortlinks/main.py": '''

@app.get("/health/db")
async def database_health() -> dict:
    from shortlinks.db import tables_named

    return {"audit_tables": await tables_named("audit")}
'''}}
ALL = (*NAMES, *BASED_ON)


def _copy(name: str, root: Path) -> Path:
    path = root / name
    shutil.copytree(SUITES / BASED_ON.get(name, name), path)
    for relative, text in OVERLAY.get(name, {}).items():
        (path / relative).write_text(text)
    for relative, text in APPEND.get(name, {}).items():
        with (path / relative).open("a") as file:
            file.write(text)
    return path


@pytest.fixture(scope="module")
def diagnosed(target, tmp_path_factory) -> dict[str, tuple[Diagnosis, dict[str, int], Path]]:
    """Every suite run with plain pytest, then diagnosed, each time on a fresh scratch database (and Redis)."""
    root = tmp_path_factory.mktemp("beyond")

    @contextlib.contextmanager
    def services(name: str):
        with scratch_database(target, f"beyond_{name}"[:24]) as database, contextlib.ExitStack() as stack:
            env = {"DATABASE_URL": database.url_for(DRIVER.get(name))}
            if name in REDIS:
                env["REDIS_URL"] = stack.enter_context(scratch_redis())
            yield env

    def one(name: str):
        path = _copy(name, root)
        with services(name) as env:
            plain = plain_pytest_counts(path, env)
        with services(name) as env:
            url = env.pop("DATABASE_URL")
            return diagnose(path, url, timeout=180, env=env or None), plain, path

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(one, name) for name in ALL}
        return {name: future.result() for name, future in futures.items()}


def _roots(diagnosis: Diagnosis) -> list[tuple[str, str, str]]:
    return [(r.nodeid.rsplit("::", 1)[-1], r.phase, r.cause) for r in diagnosis.roots]


def _objects(diagnosis: Diagnosis) -> list[dict]:
    return [e for e in diagnosis.run.events if e.get("event") == "object"]


def _broken_now(diagnosis: Diagnosis) -> list:
    return [a for a in diagnosis.advice if a.severity == "broken-now"]


@pytest.mark.parametrize("name", ALL)
def test_counts_are_pytests(diagnosed, name):
    diagnosis, plain, _ = diagnosed[name]
    assert diagnosis_counts(diagnosis) == plain, render_text(diagnosis)


def test_the_suites_break_as_their_readmes_say(diagnosed):
    """The measurements the READMEs state, so a README cannot drift from its suite."""
    expected = {"redis_pool_dependency": {"passed": 2, "failed": 2},
                "httpx_lazy_singleton": {"passed": 2, "failed": 2},
                "redis_client_per_test_green": {"passed": 4},
                "psycopg_module_engine": {"passed": 3},
                "anyio_class_scoped": {"passed": 2, "errors": 2},
                "session_carried_module_scope": {"passed": 1, "failed": 2},
                "redis_pool_engine_after_redis": {"passed": 2, "failed": 3}}
    assert {name: plain for name, (_, plain, _) in diagnosed.items()} == expected


def test_a_redis_pool_made_at_import_is_named_from_its_connections(diagnosed):
    """Every second test gets the connection the previous test's loop opened: two roots, each with its own redis
    connection as evidence, and no pool rule (no SQLAlchemy here) nor unknown."""
    diagnosis, _, _ = diagnosed["redis_pool_dependency"]
    text = render_text(diagnosis)
    assert _roots(diagnosis) == [("test_following_a_link_redirects", "call", "redis-client-per-test-loop"),
                                 ("test_taken_slug_is_refused", "call", "redis-client-per-test-loop")], text
    assert {f.cause for f in diagnosis.findings} == {"redis-client-per-test-loop"}, text
    first, second = diagnosis.roots
    assert first.message == "Event loop is closed", text
    assert re.match(r"redis connection to 127\.0\.0\.1:\d+ opened on L1 \(call of tests/test_links\.py::"
                    r"test_shorten_returns_the_slug, redis/asyncio/connection\.py\) used on L2 \(call of "
                    r"tests/test_links\.py::test_following_a_link_redirects\)$", first.evidence[0]), first.evidence
    assert "call of tests/test_links.py::test_hits_are_counted" in second.evidence[0], second.evidence
    assert first.confidence == "high" and "objects" in first.basis


def test_a_lazily_cached_httpx_client_is_named_from_its_connections(diagnosed):
    """No app, no import-time client: the client is made in the first test's call and cached by lru_cache."""
    diagnosis, _, _ = diagnosed["httpx_lazy_singleton"]
    text = render_text(diagnosis)
    assert _roots(diagnosis) == [("test_no_umbrella_in_madrid", "call", "httpx-client-across-loops"),
                                 ("test_unknown_station_is_reported", "call", "httpx-client-across-loops")], text
    assert {f.cause for f in diagnosis.findings} == {"httpx-client-across-loops"}, text
    first = diagnosis.roots[0]
    assert re.match(r"httpcore connection to 127\.0\.0\.1:\d+ opened on L1 \(call of tests/test_advice\.py::"
                    r"test_rain_in_london_means_umbrella, httpcore/", first.evidence[0]), first.evidence
    assert "used on L2 (call of tests/test_advice.py::test_no_umbrella_in_madrid)" in first.evidence[0]
    assert first.confidence == "high" and "objects" in first.basis


def test_a_redis_pool_per_test_is_green(diagnosed):
    diagnosis, _, _ = diagnosed["redis_client_per_test_green"]
    assert diagnosis.findings == [] and diagnosis.notes == [], render_text(diagnosis)
    assert _objects(diagnosis) == []  # no connection ever met another loop
    assert not _broken_now(diagnosis), render_text(diagnosis)


def test_a_psycopg_module_engine_is_green_although_its_pool_crosses_loops(diagnosed):
    """The shape that is module-engine-per-test-loop on asyncpg: the recorder sees the pooled connection checked
    out on every later test's loop, and psycopg 3 does not care. Nothing to report."""
    diagnosis, _, _ = diagnosed["psycopg_module_engine"]
    assert diagnosis.findings == [] and diagnosis.notes == [], render_text(diagnosis)
    crossed = [e for e in diagnosis.run.events if e.get("action") == "cross-loop-checkout"]
    assert {e["loop"] for e in crossed} == {"L2", "L3"} and {e["created_on"] for e in crossed} == {"L1"}
    assert not _broken_now(diagnosis), render_text(diagnosis)


def test_an_anyio_class_fixture_gets_a_new_runner_loop_per_class(diagnosed):
    diagnosis, _, _ = diagnosed["anyio_class_scoped"]
    text = render_text(diagnosis)
    assert _roots(diagnosis) == [("test_shipping_takes_from_stock", "setup", "anyio-runner-loop")], text
    root = diagnosis.roots[0]
    assert root.nodeid == "tests/test_inventory.py::TestShipping::test_shipping_takes_from_stock"
    [secondary] = [f for f in diagnosis.findings if f.secondary]
    assert secondary.nodeid.endswith("TestShipping::test_cannot_ship_more_than_on_hand") and secondary.root == \
        root.nodeid, text
    assert diagnosis.config["runners"] == {"anyio": 4}
    assert any("opened on L1 (setup of tests/test_inventory.py::TestReceiving::test_receiving_adds_to_stock) was "
               "checked out on L2" in line for line in root.evidence), root.evidence
    assert any("made at import" in line for line in root.evidence), root.evidence
    for finding in diagnosis.findings:
        assert "AnyIO" in finding.fix and "asyncio_default_test_loop_scope" not in finding.fix, finding.fix
    assert not [a for a in diagnosis.advice if a.package == "pytest-asyncio"], text


def test_a_module_scoped_session_on_a_pooled_engine_has_both_causes(diagnosed):
    """Test 1 commits, so the session gives its connection back to the pool; test 2's session checks it out again
    on a new loop (the pool crosses first: module-engine-per-test-loop), and keeps it; test 3 uses it on its own loop
    with no checkout (session-carried-across-loops). Either fix alone leaves a failure (see the README)."""
    diagnosis, _, _ = diagnosed["session_carried_module_scope"]
    text = render_text(diagnosis)
    assert _roots(diagnosis) == [("test_nothing_else_open", "call", "module-engine-per-test-loop"),
                                 ("test_closing_a_ticket", "call", "session-carried-across-loops")], text
    pool, held = diagnosis.roots
    assert "attached to a different loop" in (pool.message or ""), text
    assert any("opened on L2 (call of tests/test_tickets.py::test_opening_a_ticket) was checked out on L3" in line
               for line in pool.evidence), pool.evidence
    assert "another operation is in progress" in (held.message or ""), text
    assert any("used on L4" in line and "without being checked out again" in line for line in held.evidence), \
        held.evidence
    assert "NullPool alone does not help" in held.fix, held.fix


def test_database_failures_after_a_redis_failure_are_the_engines(diagnosed):
    """The app has a redis pool and a pooled asyncpg engine, both made at import. Test 2 fails on redis. Test 4 uses
    only the database: its pooled connection, opened on test 3's loop, is checked out on test 4's (the recorder writes
    a cross-loop-checkout for test 4, and an asyncpg object event, no redis one): module-engine-per-test-loop. Test 5
    checks out the connection test 4's failure left busy ("another operation is in progress"): its fallout."""
    diagnosis, _, _ = diagnosed["redis_pool_engine_after_redis"]
    text = render_text(diagnosis)
    events = diagnosis.run.events
    again, once_more = (f"tests/test_links.py::test_database_answers_{end}" for end in ("again", "once_more"))
    assert [e.get("library") for e in _objects(diagnosis) if e.get("nodeid") in (again, once_more)] == ["asyncpg"]
    assert [e.get("nodeid") for e in events if e.get("action") == "cross-loop-checkout"] == [again, once_more]
    assert _roots(diagnosis) == [("test_following_a_link_redirects", "call", "redis-client-per-test-loop"),
                                 ("test_database_answers_again", "call", "module-engine-per-test-loop")], text
    assert not any("redis" in line for line in diagnosis.roots[1].evidence), diagnosis.roots[1].evidence
    [secondary] = [f for f in diagnosis.findings if f.secondary]
    assert (secondary.nodeid, secondary.root, secondary.cause) == (once_more, again, "module-engine-per-test-loop")


def test_the_command_line_runs_a_psycopg_suite_on_psycopg_and_finds_nothing(run_kit, tmp_path):
    """The user's path: `kit diagnose` picks psycopg from the suite's requirements.txt, makes the scratch database,
    and exits 0 with no finding."""
    path = shutil.copytree(SUITES / "psycopg_module_engine", tmp_path / "psycopg_module_engine")
    result = run_kit("diagnose", str(path), "--json", str(tmp_path / "d.json"), timeout=240)
    assert result.code == 0, result.all
    assert "driver psycopg (from the suite's requirements)" in result.out, result.out
    assert json.loads((tmp_path / "d.json").read_text())["findings"] == []


def test_the_command_line_gives_a_redis_suite_a_scratch_redis(run_kit, tmp_path):
    if os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is set: kit would use that Redis as is")
    path = shutil.copytree(SUITES / "redis_pool_dependency", tmp_path / "redis_pool_dependency")
    result = run_kit("diagnose", str(path), "--json", str(tmp_path / "d.json"), timeout=240)
    assert result.code == 1, result.all
    assert "Redis: a scratch database of kit's embedded Redis" in result.out, result.out
    data = json.loads((tmp_path / "d.json").read_text())
    assert {(f["cause"], f["secondary"]) for f in data["findings"]} == {("redis-client-per-test-loop", False)}
