import pytest
from users import add_users, count_users, remove_users

pytestmark = pytest.mark.anyio

EMAILS = ("ada@signup.test", "bob@signup.test")


@pytest.fixture(scope="module")
async def signed_up(engine):
    await add_users(engine, *EMAILS)
    yield EMAILS
    await remove_users(engine, *EMAILS)


async def test_both_signed_up(engine, signed_up):
    assert await count_users(engine, "@signup.test") == 2


async def test_third_signup(engine, signed_up):
    await add_users(engine, "cy@signup.test")
    assert await count_users(engine, "@signup.test") == 3
    await remove_users(engine, "cy@signup.test")
