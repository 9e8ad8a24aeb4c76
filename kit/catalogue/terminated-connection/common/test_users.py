import pytest
from scenario_db import User
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def count_users(engine) -> int:
    async with AsyncSession(engine) as session:
        return await session.scalar(select(func.count()).select_from(User))


@pytest.mark.asyncio
async def test_add_user(db_engine):
    async with AsyncSession(db_engine) as session:
        session.add(User(email="ada@example.com"))
        await session.commit()
    assert await count_users(db_engine) == 1  # the pool now keeps this connection for the next test


@pytest.mark.asyncio
async def test_count_after_database_restart(db_engine, restart_database):
    await restart_database()
    assert await count_users(db_engine) == 1  # checks out the pooled connection the server killed


@pytest.mark.asyncio
async def test_count_again(db_engine):
    # After the failure SQLAlchemy invalidates the pool, so this passes: only the first use after
    # a reset fails, which is why the error looks flaky.
    assert await count_users(db_engine) == 1
