import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from pricing import with_tax


def test_tax_is_added():
    assert with_tax(100) == 120


def test_tax_on_zero():
    assert with_tax(0) == 1  # wrong: the author's mistake, not a loop conflict


async def test_database_answers():
    engine = create_async_engine(os.environ["DATABASE_URL"])
    async with engine.connect() as conn:
        assert await conn.scalar(text("select 1")) == 1
    await engine.dispose()
