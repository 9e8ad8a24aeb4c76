import os

import pytest_asyncio
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from adminkit_audit import AuditBase


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def audit_engine():
    engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=1, max_overflow=0)
    async with engine.begin() as conn:
        await conn.run_sync(AuditBase.metadata.create_all)
    yield engine
    async with engine.begin() as conn:
        await conn.run_sync(AuditBase.metadata.drop_all)
    await engine.dispose()


@pytest_asyncio.fixture(loop_scope="module")
async def audit_session(audit_engine):
    async with audit_engine.connect() as conn:
        transaction = await conn.begin()
        async with async_sessionmaker(bind=conn, expire_on_commit=False)() as session:
            yield session
        await transaction.rollback()
