import pytest
from users import add_users, count_users, remove_users

pytestmark = pytest.mark.anyio

EMAILS = ("dee@search.test", "eve@search.test", "fay@search.test")


@pytest.fixture(scope="module")
async def searchable(engine):
    await add_users(engine, *EMAILS)
    yield EMAILS
    await remove_users(engine, *EMAILS)


async def test_count_by_domain(engine, searchable):
    assert await count_users(engine, "@search.test") == 3


async def test_unknown_domain(engine, searchable):
    assert await count_users(engine, "@nowhere.test") == 0
