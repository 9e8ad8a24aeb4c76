from sqlalchemy import text


async def test_select_one(engine):
    async with engine.connect() as conn:
        assert await conn.scalar(text("select 1")) == 1


async def test_select_again(engine):
    async with engine.connect() as conn:
        assert await conn.scalar(text("select 2")) == 2


def test_sync():
    assert True
