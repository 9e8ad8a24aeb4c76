from scenario_db import User
from stats import user_stats


async def test_stats_empty(sessionmaker):
    assert await user_stats(sessionmaker) == {"total": 0, "example": 0}


async def test_stats_counts(sessionmaker):
    async with sessionmaker() as session:
        session.add_all([User(email="alice@example.com"), User(email="bob@other.org")])
        await session.commit()
    assert await user_stats(sessionmaker) == {"total": 2, "example": 1}
