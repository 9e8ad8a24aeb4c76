import pytest
from scenario_db import User
from sqlalchemy import func, select


@pytest.mark.asyncio
async def test_add_user(db_session):
    db_session.add(User(email="ada@example.com"))
    await db_session.flush()
    assert await db_session.scalar(select(func.count()).select_from(User)) == 1


@pytest.mark.asyncio
async def test_starts_empty(db_session):
    assert await db_session.scalar(select(func.count()).select_from(User)) == 0
