import asyncio

import pytest

from app.database import Base, engine


@pytest.fixture(scope="session", autouse=True)
def create_tables():
    async def create():
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
        await engine.dispose()

    asyncio.run(create())
