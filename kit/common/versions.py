"""Versions of everything that decides how a loop/session conflict behaves.

Read from installed distribution metadata, never by importing the packages: it is fast and has no side
effects in the process being measured.
"""

from __future__ import annotations

import platform
from functools import lru_cache
from importlib import metadata

__all__ = ["PACKAGES", "collect_versions"]

PACKAGES = ("pytest", "pytest-asyncio", "sqlalchemy", "asyncpg", "greenlet", "httpx", "ipytest")


@lru_cache(maxsize=1)
def _installed() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def collect_versions(server_version: str | None = None) -> dict[str, str | None]:
    """Python and package versions, plus the PostgreSQL server version when known."""
    return {**_installed(), "postgresql": server_version}
