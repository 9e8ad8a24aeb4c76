from sqlalchemy import text


async def test_first_query(db):
    assert await db.scalar(text("select 1")) == 1


async def test_second_query(db):
    assert await db.scalar(text("select 2")) == 2


async def test_third_query(db):
    assert await db.scalar(text("select 3")) == 3
