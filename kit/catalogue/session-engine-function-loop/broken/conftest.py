import pytest_asyncio
from scenario_db import DATABASE_URL, Base
from sqlalchemy.ext.asyncio import create_async_engine


# No loop_scope: with asyncio_default_fixture_loop_scope unset this fixture runs on the session loop,
# while each test still runs on its own function loop.
@pytest_asyncio.fixture(scope="session")
async def engine():
    engine = create_async_engine(DATABASE_URL)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()
