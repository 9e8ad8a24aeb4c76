"""The sync import API, run where the application runs it: inside the caller's transaction, through
``AsyncConnection.run_sync`` with a plain ``Session`` bound to the sync connection."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from uow import import_skus
from uow.models import Sku


def run_import(rows):
    def work(sync_connection):
        with Session(bind=sync_connection) as session:
            return import_skus(session, rows)
    return work


async def test_import_writes_into_the_callers_transaction(connection):
    result = await connection.run_sync(run_import([("TEE-S", "tee, small"), ("TEE-M", "tee, medium")]))
    assert result.ok and result.imported == 2
    assert await connection.scalar(select(func.count()).select_from(Sku)) == 2


async def test_rejected_import_rolls_back_the_callers_transaction(connection, factory):
    # The duplicate makes import_skus roll back, and the Session was joined into the fixture's transaction:
    # that transaction is over too, so the fixture's own rollback at teardown finds it gone and SQLAlchemy
    # warns "transaction already deassociated from connection". Nothing was written either way.
    result = await connection.run_sync(run_import([("HAT", "hat"), ("HAT", "hat again")]))
    assert result.rejected == ["HAT"] and result.imported == 0
    assert not connection.in_transaction()
    async with factory() as session:
        assert await session.scalar(select(func.count()).select_from(Sku)) == 0
