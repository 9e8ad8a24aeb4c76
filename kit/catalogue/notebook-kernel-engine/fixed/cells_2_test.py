%%ipytest
# The test gets an engine of its own, created and disposed on the test's loop.
import pytest_asyncio


@pytest_asyncio.fixture
async def test_engine():
    own = create_async_engine(os.environ["DATABASE_URL"])
    yield own
    await own.dispose()


async def test_query_from_the_notebook_engine(test_engine):
    async with test_engine.connect() as conn:
        assert (await conn.execute(text("select 1"))).scalar() == 1
