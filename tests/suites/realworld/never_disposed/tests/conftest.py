import asyncio

import pytest
from httpx import ASGITransport, AsyncClient
from shortener.db import engine
from shortener.main import app
from shortener.models import Base


@pytest.fixture(scope="session", autouse=True)
def schema():
    async def create():
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)

    async def drop():
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)

    asyncio.run(create())
    yield
    asyncio.run(drop())


@pytest.fixture
async def client():
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://sho.rt") as client:
        yield client
