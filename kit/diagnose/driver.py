"""Which PostgreSQL driver a suite is written for, so the database kit hands it speaks that driver.

A user who gives ``--url postgresql+psycopg://...`` (or whose suite uses psycopg 3) must have the suite run on
psycopg: asyncpg and psycopg fail differently, and a suite diagnosed on the wrong driver is diagnosed with the
wrong failures. kit connects to the server with asyncpg itself, but the ``DATABASE_URL`` it exports names the
driver chosen here, and the report says which and why.
"""

from __future__ import annotations

from pathlib import Path

from kit.catalogue.scenario import DRIVERS
from kit.diagnose.requirements import declared_requirements
from kit.diagnose.scan import mentions

__all__ = ["DRIVERS", "suite_driver", "uses_redis"]


def suite_driver(project: Path, given: str | None = None, url_driver: str | None = None) -> tuple[str, str]:
    """(driver, why): ``given`` (``--driver``) first, then the driver the user's URL names, then what the suite's
    requirements and source use, else asyncpg."""
    if given:
        return given, "--driver"
    if url_driver:
        return url_driver, "the URL you gave"
    declared = {d.name for d in declared_requirements(project)}
    for name in DRIVERS:
        if name in declared and not (declared & set(DRIVERS)) - {name}:
            return name, "the suite's requirements"
    if mentions(project, ("postgresql+psycopg:", "+psycopg\"", "+psycopg'")) and not \
            mentions(project, ("+asyncpg",)):
        return "psycopg", "the suite's source (postgresql+psycopg URLs)"
    return "asyncpg", "the default"


def uses_redis(project: Path) -> bool:
    """Whether the suite talks to Redis: redis-py among its requirements, or imported by its source."""
    if any(d.name == "redis" for d in declared_requirements(project)):
        return True
    return mentions(project, ("import redis", "from redis")) is not None
