from scenario_db import User
from sqlalchemy import func, select


async def test_add_user(db_session):
    db_session.add(User(email="alice@example.com"))
    await db_session.commit()
    assert await db_session.scalar(select(func.count()).select_from(User)) == 1


async def test_starts_empty(db_session):
    assert await db_session.scalar(select(func.count()).select_from(User)) == 0


async def test_add_other_user(db_session):
    db_session.add(User(email="bob@example.com"))
    await db_session.flush()
