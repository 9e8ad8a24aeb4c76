import pytest_asyncio
from scenario_db import DATABASE_URL, Base
from sqlalchemy.ext.asyncio import create_async_engine


# Its own loop scope: a session-scoped fixture cannot run on the function-scoped loop.
@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def schema():
    engine = create_async_engine(DATABASE_URL)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()


@pytest_asyncio.fixture
async def engine():
    engine = create_async_engine(DATABASE_URL)
    yield engine
    await engine.dispose()
