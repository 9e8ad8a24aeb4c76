import pytest_asyncio
from db import Session, engine
from scenario_db import Base


@pytest_asyncio.fixture(scope="session")
async def tables():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


@pytest_asyncio.fixture
async def db_session(tables):
    async with Session() as session:
        yield session
