import asyncio

import asyncpg
import pytest_asyncio
from db import engine
from scenario_db import DATABASE_URL, Base


@pytest_asyncio.fixture(scope="session")
async def db_engine():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def restart_database():
    """Stands in for a server restart, failover or idle timeout: every other backend on this
    database is killed from a second, separate connection. The pool is not told."""

    async def kill_other_backends():
        admin = await asyncpg.connect("postgresql://" + DATABASE_URL.split("://", 1)[1])  # whichever driver the suite's
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        await asyncio.sleep(0.1)  # the client sees its socket closed, as it would between requests

    return kill_other_backends
