from scenario_db import User
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def test_add_user(engine):
    async with AsyncSession(engine) as session:
        session.add(User(email="alice@example.com"))
        await session.commit()


async def test_find_user(engine):
    async with AsyncSession(engine) as session:
        assert await session.scalar(select(User).where(User.email == "alice@example.com"))


async def test_count_users(engine):
    async with AsyncSession(engine) as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1
