"""The database wiring, the ordinary way: one module-level engine, a sessionmaker, a ``get_session`` dependency.

The engine is created at import time and connects lazily; its pool keeps asyncpg connections, each bound
to the event loop it was opened on. In the app that is one loop (uvicorn's) and all is well. A test suite
that reuses this engine (or one wired like it) across per-test loops is what the investigation is about.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from kit.reference.genesis.settings import get_settings

__all__ = ["Base", "engine", "SessionLocal", "get_session"]


class Base(DeclarativeBase):
    pass


engine = create_async_engine(get_settings().database_url)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: one session per request, closed when the response is done."""
    async with SessionLocal() as session:
        yield session
