import pytest
import pytest_asyncio

from models import Base, Session, engine


@pytest_asyncio.fixture(scope="session")
async def tables():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


@pytest.fixture
async def session(tables):
    async with Session() as session:
        yield session
