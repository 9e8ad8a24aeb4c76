import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


@pytest.mark.needs_db
async def test_the_configured_database_answers(db_url):
    engine = create_async_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE dbguard_probe (id serial PRIMARY KEY, note text)"))
            await conn.execute(text("INSERT INTO dbguard_probe (note) VALUES ('hello')"))
            assert await conn.scalar(text("SELECT note FROM dbguard_probe")) == "hello"
            await conn.execute(text("DROP TABLE dbguard_probe"))
    finally:
        await engine.dispose()
