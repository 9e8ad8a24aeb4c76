# ruff: noqa: F821 (names from the cells above: a notebook's namespace)
# The test gets an engine of its own, created and disposed on the test's loop.
import pytest_asyncio


@pytest_asyncio.fixture
async def test_engine():
    own = create_async_engine(os.environ["DATABASE_URL"])
    yield own
    await own.dispose()


async def test_read_the_seeded_note(test_engine):
    async with test_engine.connect() as conn:
        assert (await conn.execute(text("select count(*) from notes"))).scalar() == 1


ipytest.run()  # as %%ipytest does: this notebook's tests, with autoconfig's options
