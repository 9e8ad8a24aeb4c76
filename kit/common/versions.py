"""Versions of everything that decides how a loop/session conflict behaves: the one list of them.

Read from installed distribution metadata, never by importing the packages: it is fast and has no side
effects in the process being measured. The recorder reads the same list inside the run (a version
environment or a user's virtualenv), and :func:`run_versions` lets what the run saw win over kit's own.
"""

from __future__ import annotations

import platform
from functools import lru_cache
from importlib import metadata

__all__ = ["PACKAGES", "installed_versions", "collect_versions", "run_versions"]

PACKAGES = ("pytest", "pytest-asyncio", "anyio", "sqlalchemy", "asyncpg", "psycopg", "greenlet", "httpx", "redis",
            "fastapi", "ipytest")


def installed_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """``{"python": ..., package: version or None}`` for this interpreter's distributions."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


@lru_cache(maxsize=1)
def _kit_process() -> dict[str, str | None]:
    return installed_versions()


def collect_versions(server_version: str | None = None) -> dict[str, str | None]:
    """Python and package versions of kit's own interpreter, plus the PostgreSQL server version when known."""
    return {**_kit_process(), "postgresql": server_version}


def run_versions(config: dict, server_version: str | None = None) -> dict[str, str | None]:
    """The versions a recorded run used: kit's own, overridden by every package the run's recorder reported
    (a run in a version environment or a user's virtualenv has its own)."""
    reported = {name: config[name] for name in ("python", *PACKAGES) if config.get(name)}
    return {**collect_versions(server_version), **reported}
