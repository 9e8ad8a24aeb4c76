%%ipytest
# The test reuses the notebook's engine: its pooled connection belongs to the kernel's loop.


async def test_query_from_the_notebook_engine():
    async with engine.connect() as conn:
        assert (await conn.execute(text("select 1"))).scalar() == 1
