"""Step 2.2, radical simplification: the mocks and the data fixtures are gone.

What is left is the database wiring exactly as it was: one pooled engine and one session factory at module
level, the schema made by a session-scoped async fixture, the legacy ``event_loop`` fixture, and the app's
requests served by the test's ``db_session``. Only the auth suite runs.
"""

import asyncio
import os

import pytest
import pytest_asyncio
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from kit.reference.genesis import create_app, get_session
from kit.reference.genesis.models import Base

TEST_DATABASE_URL = os.environ["DATABASE_URL"]

# One engine (pooled, the default) and one session factory for the whole run.
engine = create_async_engine(TEST_DATABASE_URL, echo=False)
TestingSessionLocal = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

app = create_app()


@pytest.fixture(scope="session")
def event_loop():
    """One event loop for the whole test session."""
    loop = asyncio.get_event_loop_policy().new_event_loop()
    yield loop
    loop.close()


# --- database ---------------------------------------------------------------------------------------

@pytest_asyncio.fixture(scope="session", autouse=True)
async def setup_database():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    yield
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
    await engine.dispose()


@pytest_asyncio.fixture
async def db_session():
    async with TestingSessionLocal() as session:
        yield session
        await session.rollback()


# --- the client: the app's requests served by the test's session -------------------------------------

@pytest_asyncio.fixture
async def client(db_session):
    async def override_get_session():
        yield db_session

    app.dependency_overrides[get_session] = override_get_session
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as ac:
        yield ac
    app.dependency_overrides.pop(get_session, None)
