import asyncio
import os

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from shop.db import Base


@pytest.fixture(scope="session", autouse=True)
def schema():
    """The tables, made once by an engine of the fixture's own (the app's engine is not touched here)."""

    async def create() -> None:
        engine = create_async_engine(os.environ["DATABASE_URL"])
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
        await engine.dispose()

    asyncio.run(create())
