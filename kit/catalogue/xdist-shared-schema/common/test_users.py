import pytest
from scenario_db import User
from sqlalchemy import func, select

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]


@pytest.mark.parametrize("name", NAMES)
async def test_register_and_find(session, name):
    session.add(User(email=f"{name}@example.com"))
    await session.commit()

    found = await session.scalar(select(User).where(User.email == f"{name}@example.com"))
    assert found is not None
    assert await session.scalar(select(func.count()).select_from(User)) >= 1
