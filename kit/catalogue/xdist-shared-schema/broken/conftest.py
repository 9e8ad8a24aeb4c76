import pytest_asyncio
from scenario_db import SHARED_DATABASE_URL, Base
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine():
    # Session-scoped, but under pytest-xdist every worker is a pytest session of its own: each worker runs this
    # fixture, and all of them rebuild the tables of the one database the URL names.
    engine = create_async_engine(SHARED_DATABASE_URL)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
    await engine.dispose()


@pytest_asyncio.fixture
async def session(engine):
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        yield session
