import pytest
from models import Slot
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

import safecommit


async def test_successful_commit_keeps_the_row(connection):
    session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint")
    session.add(Slot(code="A1", seats=3))
    await safecommit.commit(session)
    assert await session.scalar(select(Slot.seats).where(Slot.code == "A1")) == 3


async def test_failed_commit_is_rolled_back_and_explained(connection):
    # Plain AsyncSession(bind=connection): the library's rollback ends the fixture's outer transaction.
    # Nothing is committed afterwards, so the test stays isolated.
    session = AsyncSession(bind=connection)
    session.add(Slot(code="B1", seats=-1))
    with pytest.raises(safecommit.CommitFailed) as failure:
        await safecommit.commit(session)
    assert failure.value.reason == "CheckViolationError" and failure.value.pending == 1
    assert not session.in_transaction()
    await session.close()


async def test_nothing_leaked_from_the_failed_commit(connection):
    session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint")
    assert await session.scalar(select(func.count()).select_from(Slot)) == 0
