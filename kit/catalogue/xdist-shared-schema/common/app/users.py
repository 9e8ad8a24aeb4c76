"""The application's user functions: each takes the caller's AsyncSession."""

from scenario_db import User
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def register(session: AsyncSession, email: str) -> User:
    user = User(email=email)
    session.add(user)
    await session.commit()
    return user


async def find(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email))


async def list_users(session: AsyncSession, *, offset: int = 0, limit: int = 50) -> list[User]:
    return list(await session.scalars(select(User).order_by(User.email).offset(offset).limit(limit)))


async def count_users(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(User))
