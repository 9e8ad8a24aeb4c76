from scenario_db import User
from sqlalchemy import func, select
from users import register_all


async def count(Session) -> int:
    async with Session() as session:
        return await session.scalar(select(func.count()).select_from(User))


async def test_register_one(sessionmaker):
    await register_all(sessionmaker, ["alice@example.com"])
    assert await count(sessionmaker) == 1


async def test_register_many(sessionmaker):
    await register_all(sessionmaker, ["alice@example.com", "bob@example.com", "carol@example.com"])
    assert await count(sessionmaker) == 3
