"""The upgrade advisor reads requirements as requirements, knows AnyIO suites, and stays true to the run beside it.

Every project here is written the way real ones are (descriptions and mypy plugin paths that mention SQLAlchemy,
greenlet declared a few lines below, pins, requirements files with comments and includes): the advice must come
from what is declared and installed, never from the text around it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.diagnose.advisor import advise
from kit.diagnose.requirements import declared_requirements
from kit.run.runner import CaseResult, PytestRun

ASYNC_APP = "from sqlalchemy.ext.asyncio import create_async_engine\n\nengine = create_async_engine('postgresql+asyncpg://')\n"


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, text in {"app/db.py": ASYNC_APP, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _greenlet(advice) -> list:
    return [a for a in advice if a.rule == "sqlalchemy-asyncio-extra"]


PYPROJECT_ADMIN = '''[project]
name = "admin"
description = "SQLAlchemy admin for Starlette/FastAPI"
dependencies = [
    "sqlalchemy>=2.0.41",
    "starlette",
    "greenlet",
]

[tool.mypy]
plugins = ["sqlalchemy.ext.mypy.plugin"]
'''


def test_descriptions_plugin_paths_and_greenlet_below_are_not_a_missing_extra(tmp_path):
    project = _project(tmp_path, {"pyproject.toml": PYPROJECT_ADMIN})
    assert [d.name for d in declared_requirements(project)] == ["sqlalchemy", "starlette", "greenlet"]
    assert _greenlet(advise(project, None, {"sqlalchemy": "2.1.9", "greenlet": "3.5"}, [])) == []


def test_a_pin_below_2_1_cannot_break_on_2_1(tmp_path):
    project = _project(tmp_path, {"requirements.txt": "# SQLAlchemy async ORM, pinned\nsqlalchemy ==1.4.3  # old\n"})
    assert _greenlet(advise(project, None, {"sqlalchemy": "1.4.3"}, [])) == []


def test_comments_never_count_but_includes_do(tmp_path):
    project = _project(tmp_path, {
        "requirements.txt": "# we use SQLAlchemy\n-r requirements/base.txt\n--index-url https://example.invalid\n",
        "requirements/base.txt": "sqlalchemy>=2.0  # SQLAlchemy core\nasyncpg\n"})
    found = _greenlet(advise(project, None, {"sqlalchemy": "2.0.58", "greenlet": "3.5"}, []))
    assert [(a.severity, a.breaks_on, a.where) for a in found] == [
        ("breaks-on-upgrade", "sqlalchemy 2.1.0", ["requirements/base.txt:1"])]


@pytest.mark.parametrize("installed, severity", [
    ({"sqlalchemy": "2.1.9", "greenlet": None}, "broken-now"),
    ({"sqlalchemy": "2.1.9", "greenlet": "3.5.6"}, "breaks-on-upgrade"),  # installed by something else, not declared
])
def test_the_installed_distributions_are_the_ground_truth(tmp_path, installed, severity):
    project = _project(tmp_path, {"pyproject.toml": '[project]\nname = "x"\ndependencies = ["SQLAlchemy>=2"]\n'})
    found = _greenlet(advise(project, None, installed, []))
    assert [a.severity for a in found] == [severity]


def test_a_driver_extra_that_pulls_greenlet_is_enough(tmp_path):
    """SQLAlchemy 2.1's ``postgresql-asyncpg`` extra requires ``sqlalchemy[asyncio]``: greenlet comes with it."""
    project = _project(tmp_path, {"pyproject.toml": '[project]\nname = "x"\n'
                                                    'dependencies = ["sqlalchemy[postgresql-asyncpg]>=2.0.38"]\n'})
    assert _greenlet(advise(project, None, {"sqlalchemy": "2.1.9", "greenlet": "3.5.6"}, [])) == []


def test_the_extra_or_a_sync_only_project_need_nothing(tmp_path):
    extra = _project(tmp_path / "extra", {"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.11"\n'
                                                            'SQLAlchemy = {version = "^2.0", extras = ["asyncio"]}\n'})
    assert _greenlet(advise(extra, None, {"sqlalchemy": "2.1.9"}, [])) == []
    sync = _project(tmp_path / "sync", {"requirements.txt": "sqlalchemy>=2\n",
                                        "app/db.py": "from sqlalchemy import create_engine\n"})
    assert _greenlet(advise(sync, None, {"sqlalchemy": "2.1.9"}, [])) == []


ANYIO_CONFTEST = '''import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def session():
    yield object()
'''


def test_anyio_fixtures_are_not_pytest_asyncio_advice(tmp_path):
    project = _project(tmp_path, {"tests/conftest.py": ANYIO_CONFTEST,
                                  "tests/test_a.py": "import pytest\n\npytestmark = pytest.mark.anyio\n\n\n"
                                                     "async def test_a(session):\n    assert session\n"})
    advice = advise(project, None, {"pytest-asyncio": "1.5.0", "anyio": "4.16.0"}, [])
    assert not [a for a in advice if a.package == "pytest-asyncio"], [a.as_text() for a in advice]
    # the same fixture in a pytest-asyncio strict-mode suite is left to pytest: that advice stays
    project2 = _project(tmp_path / "pa", {"tests/conftest.py": ANYIO_CONFTEST.replace("anyio_backend", "backend"),
                                          "tests/test_a.py": "import pytest\n\n\n@pytest.mark.asyncio\n"
                                                             "async def test_a(session):\n    assert session\n"})
    advice = advise(project2, None, {"pytest-asyncio": "1.5.0"}, [])
    assert [a.severity for a in advice if a.rule == "strict-mode-async-fixture"] == ["broken-now"]


def _run(outcome: str, runners: dict, events: list | None = None) -> PytestRun:
    return PytestRun(outcome, 0 if outcome == "passed" else 1, [CaseResult("tests/test_a.py::test_a", outcome)],
                     events or [], {"runners": runners}, 1.0, "")


def test_nothing_is_broken_now_that_the_run_shows_working(tmp_path):
    project = _project(tmp_path, {"tests/conftest.py": ANYIO_CONFTEST.replace("anyio_backend", "backend"),
                                  "tests/test_a.py": "import pytest\n\n\n@pytest.mark.asyncio\n"
                                                     "async def test_a(session):\n    assert session\n"})
    versions = {"pytest-asyncio": "1.5.0"}
    green = advise(project, None, versions, [], run=_run("passed", {"pytest-asyncio": 1}))
    strict = [a for a in green if a.rule == "strict-mode-async-fixture"]
    assert [a.severity for a in strict] == ["info"] and "passed with this in place" in strict[0].message
    # a fixture the run saw on a loop was handled by a plugin: it is not "left to pytest"
    handled = {"event": "fixture", "fixture": "session", "scope": "function", "loop": "L1"}
    red = advise(project, None, versions, [], run=_run("failed", {"pytest-asyncio": 1}, [handled]))
    assert not [a for a in red if a.rule == "strict-mode-async-fixture"]
    # failing with that very cause keeps it broken now
    red = advise(project, None, versions, [], run=_run("failed", {"pytest-asyncio": 1}),
                 causes={"strict-mode-async-fixture"})
    assert [a.severity for a in red if a.rule == "strict-mode-async-fixture"] == ["broken-now"]


# -- redis-py's asyncio client: close() and aclose() across its release lines --------------------------------
REDIS_CONFTEST = '''import os

import pytest_asyncio
import redis.asyncio as redis


@pytest_asyncio.fixture
async def cache():
    client = redis.from_url(os.environ["REDIS_URL"])
    yield client
    await client.{call}()
'''
WARNINGS_ARE_ERRORS = "[pytest]\nfilterwarnings =\n    error\n"


def _redis(advice) -> dict:
    return {a.rule: a for a in advice if a.package == "redis"}


def _redis_project(root: Path, call: str, requirement: str = "redis>=4.2", ini: str = WARNINGS_ARE_ERRORS) -> Path:
    return _project(root, {"tests/conftest.py": REDIS_CONFTEST.format(call=call), "pytest.ini": ini,
                           "requirements.txt": f"{requirement}\n"})


@pytest.mark.parametrize("installed, severity, breaks_on", [
    ("8.1.0", "broken-now", "redis 8.1.0 (installed)"),   # DeprecationWarning from 5.0.1: an ERROR under `error`
    ("5.0.0", "breaks-on-upgrade", "redis 5.0.1"),
])
def test_redis_close_is_a_failure_where_warnings_are_errors(tmp_path, installed, severity, breaks_on):
    found = _redis(advise(_redis_project(tmp_path, "close"), None, {"redis": installed}, []))
    close = found.pop("redis-close-deprecated")
    assert (close.severity, close.breaks_on, close.where) == (severity, breaks_on, ["tests/conftest.py:11"])
    assert "pytest.ini:2" in close.message and "aclose()" in close.fix and not close.measured
    assert not found  # from_url closes its pool from 5.0.0 on; aclose is not used


def test_redis_close_on_4x_leaks_and_only_deprecates_without_error_filters(tmp_path):
    leaky = _redis(advise(_redis_project(tmp_path / "a", "close"), None, {"redis": "4.6.0"}, []))
    assert {r: a.severity for r, a in leaky.items()} == {"redis-close-deprecated": "breaks-on-upgrade",
                                                         "redis-from-url-close-leak": "broken-now"}
    assert "connection_pool.disconnect()" in leaky["redis-from-url-close-leak"].fix
    # without a filter that makes warnings errors the same calls only warn (and leak)
    plain = _redis(advise(_redis_project(tmp_path / "b", "close", ini="[pytest]\n"), None, {"redis": "4.6.0"}, []))
    assert {r: a.severity for r, a in plain.items()} == {"redis-close-deprecated": "deprecated",
                                                         "redis-from-url-close-leak": "info"}
    # error::DeprecationWarning fails on close() but leaves the leak's PytestUnraisableExceptionWarning a warning
    ini = "[pytest]\naddopts = -W error::DeprecationWarning\n"
    some = _redis(advise(_redis_project(tmp_path / "c", "close", ini=ini), None, {"redis": "4.6.0"}, []))
    assert {r: a.severity for r, a in some.items()} == {"redis-close-deprecated": "breaks-on-upgrade",
                                                        "redis-from-url-close-leak": "info"}


def test_redis_close_cannot_break_on_a_line_the_requirements_exclude(tmp_path):
    pinned = _redis(advise(_redis_project(tmp_path, "close", "redis==4.6.0"), None, {"redis": "4.6.0"}, []))
    assert list(pinned) == ["redis-from-url-close-leak"]


def test_redis_aclose_gets_no_close_advice_and_needs_5_0_1(tmp_path):
    assert _redis(advise(_redis_project(tmp_path / "a", "aclose", "redis>=5.0.1"), None, {"redis": "8.1.0"}, [])) == {}
    loose = _redis(advise(_redis_project(tmp_path / "b", "aclose"), None, {"redis": "8.1.0"}, []))
    assert [(r, a.severity, a.breaks_on) for r, a in loose.items()] == [
        ("redis-aclose-needs-5.0.1", "info", "redis 5.0.0 (admitted by requirements.txt:1)")]
    old = _redis(advise(_redis_project(tmp_path / "c", "aclose"), None, {"redis": "5.0.0"}, []))
    assert old["redis-aclose-needs-5.0.1"].severity == "broken-now" and "AttributeError" in old[
        "redis-aclose-needs-5.0.1"].message


OTHER_CLIENTS = '''import httpx
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine


@pytest_asyncio.fixture
async def client():
    engine = create_async_engine("postgresql+asyncpg://")
    session = AsyncSession(engine, expire_on_commit=False)
    http = httpx.AsyncClient()
    yield http
    await http.aclose()
    await session.close()
    await engine.dispose()
'''


def test_a_suite_without_redis_gets_no_redis_advice(tmp_path):
    project = _project(tmp_path, {"tests/conftest.py": OTHER_CLIENTS, "pytest.ini": WARNINGS_ARE_ERRORS,
                                  "requirements.txt": "redis>=4.2\nhttpx\n"})
    assert _redis(advise(project, None, {"redis": "4.6.0"}, [])) == {}


def test_the_scan_knows_redis_clients_by_their_constructor_or_name(tmp_path):
    from kit.diagnose.scan import scan_suite

    conftest = '''from redis.asyncio import ConnectionPool, Redis

pool = ConnectionPool.from_url("redis://")


async def close_all(app):
    shared = Redis(connection_pool=pool)
    await shared.close()
    await app.state.redis.close()
    await pool.aclose()
    await app.state.cache.close()  # not known to be a redis client
'''
    found = [(p.kind, p.line, p.detail) for p in scan_suite(_project(tmp_path, {"conftest.py": conftest}))
             if p.kind.startswith("redis_")]
    assert found == [("redis_close", 8, "Redis(connection_pool=)"), ("redis_close", 9, ""),
                     ("redis_aclose", 10, "ConnectionPool.aclose")]
