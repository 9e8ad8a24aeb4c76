from scenario_db import User
from sqlalchemy import func, select

from app.db import SessionLocal


async def register(email: str) -> User:
    async with SessionLocal() as session:
        user = User(email=email)
        session.add(user)
        await session.commit()
        return user


async def count_users() -> int:
    async with SessionLocal() as session:
        return await session.scalar(select(func.count()).select_from(User))
