from scenario_db import User
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def register(session: AsyncSession, email: str) -> User:
    user = User(email=email)
    session.add(user)
    await session.flush()
    return user


async def find_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email))


async def count_users(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(User))
