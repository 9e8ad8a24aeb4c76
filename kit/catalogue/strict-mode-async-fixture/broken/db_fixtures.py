import pytest
from sqlalchemy.ext.asyncio import AsyncSession


# A plain pytest fixture: in strict mode pytest-asyncio leaves it alone, and pytest itself
# cannot drive an async generator.
@pytest.fixture
async def db_session(engine):
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session
        await session.rollback()
