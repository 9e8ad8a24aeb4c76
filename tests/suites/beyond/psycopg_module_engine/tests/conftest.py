import pytest
from sqlalchemy import text

from bookings.database import Base, engine


@pytest.fixture(autouse=True)
async def empty_tables():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(text("TRUNCATE bookings, rooms RESTART IDENTITY CASCADE"))
    yield
