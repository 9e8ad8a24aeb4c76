from app.users import count_users, find_by_email, register


async def test_register_alice(db_session):
    user = await register(db_session, "alice@example.com")
    assert user.id is not None


async def test_find_bob(db_session):
    await register(db_session, "bob@example.com")
    found = await find_by_email(db_session, "bob@example.com")
    assert found is not None


async def test_count_users(db_session):
    await register(db_session, "carol@example.com")
    assert await count_users(db_session) >= 1
