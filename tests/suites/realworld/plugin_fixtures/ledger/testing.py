"""pytest fixtures for code that uses the ledger: ``pytest_plugins = ["ledger.testing"]`` or ``-p ledger.testing``.

``ledger_engine`` lives for the whole session, on pytest-asyncio's session loop; ``ledger_session`` gives each
test an AsyncSession inside an outer transaction that is rolled back afterwards. The session is joined with
``join_transaction_mode="create_savepoint"``: the code under test may commit or roll back as it does in
production, and only ever ends a savepoint.
"""

from __future__ import annotations

import os

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from ledger.models import Base


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--ledger-url", default=None, help="database for the ledger fixtures (default: $DATABASE_URL)")


@pytest.fixture(scope="session")
def ledger_url(pytestconfig: pytest.Config) -> str:
    url = pytestconfig.getoption("--ledger-url") or os.environ.get("DATABASE_URL")
    if not url:
        pytest.skip("no database: set DATABASE_URL or pass --ledger-url")
    return url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ledger_engine(ledger_url):
    engine = create_async_engine(ledger_url, pool_size=2)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
    await engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def ledger_session(ledger_engine):
    async with ledger_engine.connect() as connection:
        outer = await connection.begin()
        session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()
