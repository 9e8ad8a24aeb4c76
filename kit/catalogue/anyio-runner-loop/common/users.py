from scenario_db import User
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker


async def add_users(engine: AsyncEngine, *emails: str) -> None:
    async with async_sessionmaker(engine)() as session:
        session.add_all(User(email=email) for email in emails)
        await session.commit()


async def remove_users(engine: AsyncEngine, *emails: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(User).where(User.email.in_(emails)))


async def count_users(engine: AsyncEngine, domain: str) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(User).where(User.email.endswith(domain)))
