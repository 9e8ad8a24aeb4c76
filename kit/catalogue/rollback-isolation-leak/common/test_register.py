import pytest
from app import register
from scenario_db import User
from sqlalchemy import func, select


async def emails(session) -> list[str]:
    return list(await session.scalars(select(User.email).order_by(User.email)))


@pytest.mark.asyncio
async def test_duplicate_email_is_rejected(db_session):
    assert await register(db_session, "admin@example.com") is None
    assert await register(db_session, "bob@example.com") is not None
    assert await emails(db_session) == ["admin@example.com", "bob@example.com"]


@pytest.mark.asyncio
async def test_each_test_starts_from_the_seed(db_session):
    assert await emails(db_session) == ["admin@example.com"]


@pytest.mark.asyncio
async def test_register_new_user(db_session):
    await register(db_session, "carol@example.com")
    assert await db_session.scalar(select(func.count()).select_from(User)) == 2
