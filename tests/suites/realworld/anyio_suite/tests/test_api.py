"""The HTTP API, one engine per test: created in the fixture, disposed when the test ends.

Measured with AnyIO 4.16: when no async fixture wider than the function holds it, AnyIO's pytest plugin
builds a new runner (a new event loop) for every test and closes it afterwards (its runner is leased by
each async fixture and test, and torn down when the last lease ends). So anything asyncpg opened must be
created and closed within the test's fixtures, which is what `client` does.
"""

import pytest
from bookmarks.app import create_app
from bookmarks.models import Base
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(database_url):
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    app = create_app()
    app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://bookmarks.test") as client:
        yield client
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
    await engine.dispose()


async def test_add_and_list(client):
    created = await client.post("/users/ada/bookmarks",
                                json={"url": "https://docs.sqlalchemy.org", "tags": ["Python", " docs", "python"]})
    assert created.status_code == 201 and created.json()["tags"] == ["docs", "python"]
    listed = await client.get("/users/ada/bookmarks")
    assert [b["url"] for b in listed.json()] == ["https://docs.sqlalchemy.org"]


async def test_duplicate_is_a_conflict(client):
    body = {"url": "https://anyio.readthedocs.io"}
    assert (await client.post("/users/bob/bookmarks", json=body)).status_code == 201
    assert (await client.post("/users/bob/bookmarks", json=body)).status_code == 409
    assert len((await client.get("/users/bob/bookmarks")).json()) == 1


async def test_filter_by_tag(client):
    for url, tags in [("https://a.example", ["db"]), ("https://b.example", ["web"])]:
        await client.post("/users/cy/bookmarks", json={"url": url, "tags": tags})
    response = await client.get("/users/cy/bookmarks", params={"tag": "DB"})
    assert [b["url"] for b in response.json()] == ["https://a.example"]
