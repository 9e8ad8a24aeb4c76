# ruff: noqa: F821 (names from the cells above: a notebook's namespace)
# The test reuses the notebook's engine: its pooled connection belongs to the kernel's loop.


async def test_read_the_seeded_note():
    async with engine.connect() as conn:
        assert (await conn.execute(text("select count(*) from notes"))).scalar() == 1


ipytest.run()  # as %%ipytest does: this notebook's tests, with autoconfig's options
