from app.users import count_users, register


async def test_register():
    user = await register("alice@example.com")
    assert user.id is not None


async def test_count_users():
    assert await count_users() == 1
