import pytest_asyncio
from scenario_db import DATABASE_URL, Base, User
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine():
    engine = create_async_engine(DATABASE_URL)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


# Every test starts with an empty table. No loop_scope here, so this fixture runs on the loop
# named by asyncio_default_fixture_loop_scope, with connections from the session-loop engine.
@pytest_asyncio.fixture
async def db_session(engine):
    async with AsyncSession(engine, expire_on_commit=False) as session:
        await session.execute(delete(User))
        await session.commit()
        yield session
