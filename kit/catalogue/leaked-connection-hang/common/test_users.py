import pytest
from users import UserNotFound, change_email, register


async def test_register(sessionmaker):
    user = await register(sessionmaker, "alice@example.com")
    assert user.id is not None


async def test_change_email_of_missing_user(sessionmaker):
    with pytest.raises(UserNotFound) as excinfo:
        await change_email(sessionmaker, 999, "ghost@example.com")
    assert excinfo.value.args == (999,)


async def test_change_email(sessionmaker):
    user = await register(sessionmaker, "bob@example.com")
    await change_email(sessionmaker, user.id, "robert@example.com")
