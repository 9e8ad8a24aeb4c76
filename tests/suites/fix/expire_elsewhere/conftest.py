import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app import Base, engine


@pytest.fixture(scope="session")
async def tables():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


@pytest.fixture
async def session(tables):
    async with AsyncSession(engine) as session:  # expire_on_commit defaults to True here
        yield session
