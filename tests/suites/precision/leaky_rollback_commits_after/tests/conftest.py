import os

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from hooks.store import Base


@pytest_asyncio.fixture(scope="module")
async def engine():
    engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=1)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def db(engine):
    # The usual "join the session into an external transaction" recipe, minus the join_transaction_mode.
    async with engine.connect() as conn:
        trans = await conn.begin()
        async with AsyncSession(bind=conn, expire_on_commit=False) as session:
            yield session
        await trans.rollback()
