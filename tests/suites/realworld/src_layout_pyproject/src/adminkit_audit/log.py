from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class AuditBase(DeclarativeBase):
    pass


class AuditEntry(AuditBase):
    __tablename__ = "adminkit_audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # create | update | delete
    target: Mapped[str] = mapped_column(String(128), index=True)  # "User:42"
    changes: Mapped[dict] = mapped_column(JSON, default=dict)


ACTIONS = {"create", "update", "delete"}


async def record(session: AsyncSession, actor: str, action: str, target: str, **changes: object) -> AuditEntry:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    entry = AuditEntry(actor=actor, action=action, target=target, changes=changes)
    session.add(entry)
    await session.flush()
    return entry


async def history(session: AsyncSession, target: str) -> list[AuditEntry]:
    return list(await session.scalars(select(AuditEntry).where(AuditEntry.target == target)
                                      .order_by(AuditEntry.id)))
