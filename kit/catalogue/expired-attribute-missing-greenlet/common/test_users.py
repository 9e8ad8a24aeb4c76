import pytest
from app import find_user, register
from scenario_db import User


@pytest.mark.asyncio
async def test_register_returns_the_new_user(db_session):
    response = await register(db_session, "ada@example.com")
    assert response["email"] == "ada@example.com"


@pytest.mark.asyncio
async def test_committed_user_keeps_its_email(db_session):
    user = User(email="bob@example.com")
    db_session.add(user)
    await db_session.commit()
    assert user.email == "bob@example.com"  # a plain attribute read, after the commit


@pytest.mark.asyncio
async def test_find_user(db_session):
    db_session.add(User(email="carol@example.com"))
    await db_session.flush()
    user = await find_user(db_session, "carol@example.com")  # loaded, not committed: fresh
    assert user is not None and user.email == "carol@example.com"
