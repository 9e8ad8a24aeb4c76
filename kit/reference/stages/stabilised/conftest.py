"""Step 4.1, stabilise: ``db_session`` and ``client`` corrected so every object lives on the loop that uses it.

- The loop scopes are spelled out in pytest.ini: each test, and every async fixture it uses, runs on the
  test's own loop. The legacy ``event_loop`` fixture is gone (pytest-asyncio 1.x ignored it anyway).
- No engine at module level: ``db_engine`` creates one per test, on the test's loop, and disposes it on
  that same loop, so its pooled connections never meet another loop.
- The schema is created once, by a plain fixture on a loop of its own (``asyncio.run``) that ends with it.
- ``client`` builds a fresh app whose real ``get_session`` dependency is overridden with a session per
  request on the test's engine, instead of sharing one session between the test and the app.
The auth tests that need a registered user or a token wait for step 4.2.
"""

import asyncio
import os

import pytest
import pytest_asyncio
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from kit.reference.genesis import create_app, get_session
from kit.reference.genesis.models import Base

TEST_DATABASE_URL = os.environ["DATABASE_URL"]


# --- database: every engine, connection and session on the loop of the test that uses it ------------

@pytest.fixture(scope="session", autouse=True)
def setup_database():
    """The tables, once per run, on a loop of their own (``asyncio.run``) that no connection outlives."""

    async def create_schema():
        engine = create_async_engine(TEST_DATABASE_URL, poolclass=NullPool)
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
        await engine.dispose()

    asyncio.run(create_schema())


@pytest_asyncio.fixture
async def db_engine():
    # Created on this test's loop, so its pool only ever holds connections opened on this loop; disposed
    # on this same loop when the test ends, so no connection can be handed to the next test's loop.
    # (poolclass=NullPool would do as well, at the price of a new connection for every session.)
    engine = create_async_engine(TEST_DATABASE_URL)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield engine
    await engine.dispose()  # on the same loop that opened the connections


@pytest_asyncio.fixture
async def db_sessionmaker(db_engine):
    return async_sessionmaker(db_engine, class_=AsyncSession, expire_on_commit=False)


@pytest_asyncio.fixture
async def db_session(db_sessionmaker):
    async with db_sessionmaker() as session:
        yield session


# --- the client: a fresh app, its real get_session overridden with a session per request -------------

@pytest_asyncio.fixture
async def client(db_sessionmaker):
    app = create_app()  # a fresh app per test: overrides cannot leak from one test to the next

    async def override_get_session():
        async with db_sessionmaker() as session:  # a session per request, on the test's engine
            yield session

    # keyed by the app's own dependency function, so the override is really used
    app.dependency_overrides[get_session] = override_get_session
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as ac:
        yield ac
