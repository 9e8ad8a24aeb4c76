"""Versions of everything that decides how a loop/session conflict behaves: the one list of them.

Read from installed distribution metadata, never by importing the packages: it is fast and has no side
effects in the process being measured. The recorder reads the same list inside the run (a version
environment or a user's virtualenv), and :func:`run_versions` lets what the run saw win over kit's own.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from functools import lru_cache
from importlib import metadata

__all__ = ["PACKAGES", "installed_versions", "collect_versions", "run_versions"]

PACKAGES = ("pytest", "pytest-asyncio", "anyio", "sqlalchemy", "asyncpg", "psycopg", "greenlet", "httpx", "redis",
            "fastapi", "ipytest")


def installed_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """``{"python": ..., package: version or None}`` for this interpreter's distributions.

    Read from the names of ``*.dist-info`` directories (``SQLAlchemy-2.0.36.dist-info``: the name and version
    the wheel spec puts there), one listing per ``sys.path`` entry, the first entry winning as imports do:
    parsing each package's METADATA, as ``importlib.metadata.version`` does, cost the recorder more at the start
    of a run than a hundred tests. A name the listing cannot settle (an ``.egg-info``, a zip on ``sys.path``) is
    asked of ``importlib.metadata``."""
    listed, unsure = _dist_info_versions()
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in packages:
        key = _normalized(name)
        version = listed.get(key)
        if version is None and (unsure is None or key in unsure):
            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                version = None
        found[name] = version
    return found


def _normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them (``pytest_asyncio`` and ``Pytest-Asyncio`` are one)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _dist_info_versions() -> tuple[dict[str, str], set[str] | None]:
    """Versions by normalised name from the ``*.dist-info`` directory names along ``sys.path`` (the first wins),
    and the names the listing cannot settle: those seen only as ``.egg-info`` (no version in that name), or None
    (every name) when an entry could not be listed (a zip)."""
    versions: dict[str, str] = {}
    eggs: set[str] | None = set()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            if os.path.isfile(entry):
                eggs = None
            continue
        for item in names:
            stem, _, kind = item.rpartition(".")
            if kind == "dist-info":
                project, dash, version = stem.rpartition("-")
                if dash and project:
                    versions.setdefault(_normalized(project), version)
            elif kind == "egg-info" and eggs is not None:
                eggs.add(_normalized(stem.split("-", 1)[0]))
    return versions, eggs


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
