import pytest
from sqlalchemy import func, select

from hooks.store import AuditEntry, Delivery, accept

pytestmark = pytest.mark.asyncio


async def count(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


async def test_new_delivery_is_stored(db):
    assert await accept(db, "evt_100", {"type": "charge.succeeded", "amount": 1200}) is True
    assert await count(db, Delivery) == 1


async def test_repeated_delivery_is_answered_and_audited(db):
    assert await accept(db, "evt_200", {"type": "charge.refunded"}) is True
    assert await accept(db, "evt_200", {"type": "charge.refunded"}) is False
    assert await count(db, AuditEntry) == 1


async def test_fresh_deliveries_leave_no_audit_trail(db):
    assert await accept(db, "evt_300", {"type": "payout.paid"}) is True
    assert await count(db, AuditEntry) == 0
