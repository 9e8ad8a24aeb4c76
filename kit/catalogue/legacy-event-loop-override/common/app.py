"""The application's data layer: one pooled engine, created at import."""

from scenario_db import DATABASE_URL, User
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine(DATABASE_URL)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def register(email: str) -> User:
    async with SessionLocal() as session:
        user = User(email=email)
        session.add(user)
        await session.commit()
        return user


async def count_users() -> int:
    async with SessionLocal() as session:
        return await session.scalar(select(func.count()).select_from(User))
