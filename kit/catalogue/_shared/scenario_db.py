"""Shared by every catalogue entry: the database URL kit gives the run, and a tiny model.

kit runs each entry in its own scratch database and passes its URL in ``DATABASE_URL``. Under pytest-xdist
(``-n 2``) every worker gets a database of its own, ``<database>_<worker>``, made here and dropped when the worker
exits: each worker runs the entry's session fixtures, and two of them rebuilding one schema would be another
conflict (the ``xdist-shared-schema`` entry), not the one the entry shows. ``SHARED_DATABASE_URL`` is the URL kit
gave, for an entry about exactly that.
"""

import asyncio
import atexit
import os

from sqlalchemy import String, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SHARED_DATABASE_URL = os.environ["DATABASE_URL"]
_ADMIN = {"isolation_level": "AUTOCOMMIT"}


def _worker_database(url: str, worker: str) -> str:
    """Create (afresh) this worker's database on the same server; dropped at exit."""
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"

    async def admin(*statements: str) -> None:
        engine = create_async_engine(url, **_ADMIN)  # an admin engine, not the suite's: kit fix leaves it alone
        try:
            async with engine.connect() as conn:
                for statement in statements:
                    await conn.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))
    atexit.register(lambda: asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))
    return parsed.set(database=name).render_as_string(hide_password=False)


_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
DATABASE_URL = _worker_database(SHARED_DATABASE_URL, _WORKER) if _WORKER else SHARED_DATABASE_URL
os.environ["DATABASE_URL"] = DATABASE_URL  # for code that reads the environment itself


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
