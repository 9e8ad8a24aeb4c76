import os

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from lending.models import Model


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine():
    # One pooled engine for the whole run, tables made once.
    engine = create_async_engine(os.environ["DATABASE_URL"])
    async with engine.begin() as conn:
        await conn.run_sync(Model.metadata.drop_all)
        await conn.run_sync(Model.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def session(engine):
    # Function scope, and (asyncio_default_fixture_loop_scope = function) the test's own loop.
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session
        await session.rollback()
