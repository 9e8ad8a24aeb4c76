import os

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from settings_store.repo import DDL, Settings


@pytest.fixture
async def engine():
    # A fresh engine per test "so nothing is shared"; nobody disposes it.
    engine = create_async_engine(os.environ["DATABASE_URL"])
    async with engine.begin() as conn:
        await conn.execute(text(DDL))
        await conn.execute(text("TRUNCATE settings"))
    return engine


@pytest.fixture
def settings(engine):
    return Settings(engine)
