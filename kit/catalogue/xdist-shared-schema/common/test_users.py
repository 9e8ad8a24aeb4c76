import pytest
from app.users import count_users, find, list_users, register

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]


@pytest.mark.parametrize("name", NAMES)
async def test_register_and_find(session, name):
    user = await register(session, f"{name}@example.com")
    assert user.id is not None

    assert (await find(session, f"{name}@example.com")).id == user.id
    assert await count_users(session) >= 1


async def test_list_users_in_pages(session):
    # The suite's slow test: a few hundred sign-ups, one commit each, then two pages of the listing. Collected
    # last, so xdist hands it out as its queue empties: the other worker runs out of tests and its session
    # teardown runs while this test is still going.
    for i in range(200):
        await register(session, f"member{i:03}@example.com")

    first = await list_users(session, limit=50)
    second = await list_users(session, offset=50, limit=50)
    assert len(first) == len(second) == 50
    assert first[-1].email < second[0].email
