from app import count_users, register


async def test_register_alice():
    user = await register("alice@example.com")
    assert user.id is not None


async def test_register_bob():
    await register("bob@example.com")


async def test_count_users():
    assert await count_users() == 2
