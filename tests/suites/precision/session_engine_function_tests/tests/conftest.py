import os

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from lending import schema


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine():
    # One pooled engine for the whole run; the tables come from the same helper the deploy script uses.
    url = os.environ["DATABASE_URL"]
    await schema.recreate(url)
    engine = create_async_engine(url)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def session(engine):
    # Function scope, and (asyncio_default_fixture_loop_scope = function) the test's own loop.
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session
        await session.rollback()
