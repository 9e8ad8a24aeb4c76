import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession


# Declared through pytest-asyncio, which runs the async generator on the event loop.
@pytest_asyncio.fixture
async def db_session(engine):
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session
        await session.rollback()
