import pytest_asyncio
from isolation import session_for_test
from scenario_db import DATABASE_URL, Base, User
from sqlalchemy.ext.asyncio import create_async_engine


@pytest_asyncio.fixture(scope="session")
async def engine():
    engine = create_async_engine(DATABASE_URL)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def db_session(engine):
    """Rollback-per-test isolation: everything a test does happens inside one outer transaction
    that is rolled back at teardown, so each test starts from the seeded state."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = session_for_test(conn)
        session.add(User(email="admin@example.com"))  # seed data every test expects
        await session.commit()  # must not end the outer transaction
        yield session
        await session.close()
        await outer.rollback()
