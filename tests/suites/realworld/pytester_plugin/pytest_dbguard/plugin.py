"""pytest-dbguard: ``--db-url`` (default: ``$DATABASE_URL``), the ``db_url`` fixture, ``@pytest.mark.needs_db``."""

from __future__ import annotations

import os
import re

import pytest

_PASSWORD = re.compile(r"(://[^:/@]+:)[^@]*(@)")


def mask(url: str) -> str:
    return _PASSWORD.sub(r"\1***\2", url)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dbguard")
    group.addoption("--db-url", default=None, help="database URL for tests marked needs_db (default: $DATABASE_URL)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_db: skip the test when no database URL is configured")


def _url(config: pytest.Config) -> str | None:
    return config.getoption("--db-url") or os.environ.get("DATABASE_URL") or None


def pytest_report_header(config: pytest.Config) -> str:
    url = _url(config)
    return f"dbguard: {mask(url) if url else 'no database (needs_db tests are skipped)'}"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_db") and not _url(item.config):
        pytest.skip("needs a database: pass --db-url or set DATABASE_URL")


@pytest.fixture(scope="session")
def db_url(pytestconfig: pytest.Config) -> str:
    url = _url(pytestconfig)
    if url is None:
        pytest.skip("needs a database: pass --db-url or set DATABASE_URL")
    return url
