"""Webhook deliveries from a payment provider: each delivery id is accepted once; repeats are audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, String, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSON}


class Delivery(Base):
    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    payload: Mapped[dict]
    received: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditEntry(Base):
    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(64))


async def accept(session: AsyncSession, delivery_id: str, payload: dict) -> bool:
    """Store a delivery. A repeat is not an error for the provider: audit it and answer "already seen"."""
    session.add(Delivery(id=delivery_id, payload=payload))
    try:
        await session.commit()
        return True
    except IntegrityError:
        await session.rollback()
    session.add(AuditEntry(kind="duplicate-delivery", ref=delivery_id))
    await session.commit()
    return False
