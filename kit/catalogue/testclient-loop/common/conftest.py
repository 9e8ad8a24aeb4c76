import pytest_asyncio
from db import engine
from scenario_db import Base, User
from sqlalchemy.ext.asyncio import AsyncSession

pytest_plugins = ["client_fixture"]  # the HTTP client fixture lives in client_fixture.py


@pytest_asyncio.fixture(scope="session")
async def tables():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


@pytest_asyncio.fixture
async def db_session(tables):
    """A session on the app's engine, on the test's event loop, inside a transaction that is
    rolled back after the test (the app's commits become savepoints)."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
        async with session:
            yield session
        await outer.rollback()


@pytest_asyncio.fixture
async def seeded(db_session):
    db_session.add_all([User(email="ada@example.com"), User(email="bob@example.com")])
    await db_session.flush()
    return db_session
