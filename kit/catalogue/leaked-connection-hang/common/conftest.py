import pytest_asyncio
from scenario_db import DATABASE_URL, Base
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine


# A clean schema for every test: created at setup, dropped at teardown.
@pytest_asyncio.fixture
async def sessionmaker():
    engine = create_async_engine(DATABASE_URL)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
    await engine.dispose()
