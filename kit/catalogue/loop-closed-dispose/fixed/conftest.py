import pytest_asyncio
from app.db import engine
from scenario_db import DATABASE_URL, Base
from sqlalchemy.ext.asyncio import create_async_engine


async def create_tables():
    setup_engine = create_async_engine(DATABASE_URL)
    async with setup_engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await setup_engine.dispose()


# An async fixture on the session loop: the engine is disposed on the loop its connections belong to,
# before pytest-asyncio closes that loop.
@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def database():
    await create_tables()
    yield
    await engine.dispose()
