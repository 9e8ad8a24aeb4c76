import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from uow import UnitOfWork
from uow.models import Shipment, ShipmentLine, Sku


async def count(factory, model) -> int:
    async with factory() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_commit_rejected_by_deferred_foreign_key_rolls_back(factory):
    async with UnitOfWork(factory) as uow:
        uow.session.add(ShipmentLine(shipment_id=404, sku_code="TEE-S", quantity=3))
        await uow.session.flush()  # accepted: the foreign key is only checked at COMMIT
        with pytest.raises(IntegrityError, match="uow_shipment_line_shipment_id_fkey"):
            await uow.commit()
        assert not uow.committed
    assert await count(factory, ShipmentLine) == 0


async def test_lines_before_their_shipment_commit_fine(factory):
    async with UnitOfWork(factory) as uow:
        uow.session.add(ShipmentLine(shipment_id=1, sku_code="TEE-M", quantity=2))
        uow.session.add(Shipment(id=1, reference="SO-1"))
        await uow.commit()
    assert await count(factory, ShipmentLine) == 1


async def test_exception_in_block_rolls_everything_back(factory):
    with pytest.raises(RuntimeError, match="carrier down"):
        async with UnitOfWork(factory) as uow:
            uow.session.add(Shipment(reference="SO-2"))
            await uow.session.flush()
            raise RuntimeError("carrier down")
    assert await count(factory, Shipment) == 0


async def test_failed_savepoint_keeps_the_outer_work(factory):
    async with UnitOfWork(factory) as uow:
        uow.session.add(Sku(code="MUG", description="mug"))
        await uow.session.flush()
        with pytest.raises(IntegrityError):
            async with uow.savepoint() as session:
                session.add(Sku(code="MUG", description="the same mug"))
        async with uow.savepoint() as session:
            session.add(Sku(code="CAP", description="cap"))
        await uow.commit()
    async with factory() as session:
        assert sorted(await session.scalars(select(Sku.code))) == ["CAP", "MUG"]


async def test_nested_savepoints_roll_back_innermost_only(factory):
    async with UnitOfWork(factory) as uow:
        session = uow.session
        outer = await session.begin_nested()
        session.add(Sku(code="A"))
        inner = await session.begin_nested()
        session.add(Sku(code="B"))
        await session.flush()
        await inner.rollback()
        await outer.commit()
        await uow.commit()
    assert await count(factory, Sku) == 1
