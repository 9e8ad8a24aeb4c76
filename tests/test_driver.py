"""kit diagnose hands a suite the driver it is written for: the one the user's URL names, else the suite's own.

A psycopg 3 suite diagnosed on asyncpg fails with asyncpg's errors, not its own. Each run here is the real
command line on a real suite that asserts the driver its engine got, against the session's embedded PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.db.target import resolve_target

SUITE = '''import os

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


@pytest.mark.asyncio
async def test_the_driver_it_was_written_for():
    engine = create_async_engine(os.environ["DATABASE_URL"])
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("select 1")) == 1
        assert engine.dialect.driver == "{expected}"
    finally:
        await engine.dispose()
'''


def _suite(root: Path, expected: str, requirements: str = "") -> Path:
    root.mkdir(parents=True)
    (root / "test_driver.py").write_text(SUITE.format(expected=expected))
    (root / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    if requirements:
        (root / "requirements.txt").write_text(requirements)
    return root


def test_the_driver_named_in_the_url_is_kept(run_kit, target, tmp_path):
    suite = _suite(tmp_path / "suite", "psycopg")
    result = run_kit("diagnose", str(suite), "--url", target.url_for("psycopg"), timeout=180)
    assert result.code == 0, result.all
    assert "driver psycopg (from the URL you gave)" in result.out
    assert target.password not in result.all


@pytest.mark.parametrize("requirements, args, expected, why", [
    ("sqlalchemy[asyncio]>=2\npsycopg[binary]>=3.2  # the async driver\n", (), "psycopg", "the suite's requirements"),
    ("sqlalchemy[asyncio]>=2\nasyncpg\n", (), "asyncpg", "the suite's requirements"),
    ("psycopg[binary]\n", ("--driver", "asyncpg"), "asyncpg", "--driver"),
])
def test_the_embedded_default_speaks_the_suites_driver(run_kit, target, tmp_path, requirements, args, expected, why):
    suite = _suite(tmp_path / "suite", expected, requirements)
    result = run_kit("diagnose", str(suite), *args, timeout=180)
    assert result.code == 0, result.all
    assert f"driver {expected} (from {why})" in result.out, result.out


def test_a_url_remembers_how_it_was_written():
    target = resolve_target("postgresql+psycopg://app:pw@127.0.0.1:5/app_test", start=False)
    assert target.url.startswith("postgresql+asyncpg://")  # what kit itself connects with
    assert (target.driver, target.url_for().split("://")[0]) == ("psycopg", "postgresql+psycopg")
    assert target.with_database("other").url_for().startswith("postgresql+psycopg://")
    plain = resolve_target("postgres://app:pw@127.0.0.1:5/app_test", start=False)
    assert plain.driver is None and plain.url_for("asyncpg").startswith("postgresql+asyncpg://")
