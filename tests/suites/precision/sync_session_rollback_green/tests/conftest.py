import os

import pytest
from models import Base
from sqlalchemy.ext.asyncio import create_async_engine


@pytest.fixture(scope="session")
async def engine():
    engine = create_async_engine(os.environ["DATABASE_URL"])
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine):
    """Each test inside one outer transaction, rolled back at teardown: nothing a test writes survives."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield conn
        await outer.rollback()
