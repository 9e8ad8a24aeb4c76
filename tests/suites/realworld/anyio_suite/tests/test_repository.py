"""The repository layer against one engine for the whole module.

Measured with AnyIO 4.16: a module-scoped async fixture takes a lease on AnyIO's test runner when it is set
up and gives it back at module teardown, so every test of this module (even one that does not request the
fixture) runs on that same runner, hence the same event loop, and the engine's pooled asyncpg connections
stay on the loop they were opened on. `test_the_module_shares_one_loop` checks that assumption.
"""

import asyncio

import pytest
from bookmarks import repository
from bookmarks.models import Base
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

pytestmark = pytest.mark.anyio
LOOPS: list[asyncio.AbstractEventLoop] = []  # the loop objects themselves, so ids cannot be reused


@pytest.fixture(scope="module")
async def engine(database_url):
    engine = create_async_engine(database_url, pool_size=2)
    LOOPS.append(asyncio.get_running_loop())
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
    await engine.dispose()


@pytest.fixture
async def session(engine):
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        yield session


async def test_add_normalises_tags(session):
    bookmark = await repository.add(session, "dee", "https://example.org", tags=["B", "a", "b "])
    assert bookmark.tags == "a,b"


async def test_duplicate_raises_and_the_session_stays_usable(session):
    await repository.add(session, "eve", "https://example.net")
    with pytest.raises(repository.DuplicateBookmark):
        await repository.add(session, "eve", "https://example.net")
    assert [b.url for b in await repository.for_owner(session, "eve")] == ["https://example.net"]


async def test_the_module_shares_one_loop(session):
    LOOPS.append(asyncio.get_running_loop())
    assert LOOPS[0] is LOOPS[-1]
