"""The same contract for the sync API, driven through AsyncConnection.run_sync
(the library's own CI has no sync driver)."""

import pytest
from models import Slot
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import safecommit


def _overbook(sync_conn) -> safecommit.CommitFailed:
    session = Session(bind=sync_conn)  # default join_transaction_mode
    session.add(Slot(code="C1", seats=-5))
    with pytest.raises(safecommit.CommitFailed) as failure:
        safecommit.commit_sync(session)
    session.close()
    return failure.value


def _count(sync_conn) -> int:
    with Session(bind=sync_conn, join_transaction_mode="create_savepoint") as session:
        return session.scalar(select(func.count()).select_from(Slot))


async def test_sync_failed_commit_raises_commit_failed(connection):
    failure = await connection.run_sync(_overbook)
    assert failure.pending == 1 and "CheckViolationError" in str(failure)


async def test_sync_table_is_still_empty(connection):
    assert await connection.run_sync(_count) == 0
