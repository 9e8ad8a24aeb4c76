"""Fixtures shared by every test module, loaded as a plugin from the root conftest."""

import os

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool


@pytest.fixture(scope="session")
def engine():
    """No pool: each connection belongs to the loop of the test that opened it."""
    return create_async_engine(os.environ["DATABASE_URL"], poolclass=NullPool)


@pytest.fixture  # strict mode: pytest-asyncio does not run this one
async def connection(engine) -> AsyncConnection:
    async with engine.connect() as conn:
        await conn.execute(text("create temporary table notes (body text)"))
        yield conn
