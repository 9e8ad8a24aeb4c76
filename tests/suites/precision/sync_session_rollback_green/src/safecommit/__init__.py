"""Commit a unit of work; on any database error roll it back and raise one exception that says what failed."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

__all__ = ["CommitFailed", "commit", "commit_sync"]


class CommitFailed(Exception):
    def __init__(self, reason: str, pending: int):
        super().__init__(f"commit failed ({pending} pending object(s) discarded): {reason}")
        self.reason = reason
        self.pending = pending


def _reason(exc: DBAPIError) -> str:
    orig = getattr(exc, "orig", None)
    return type(orig).__name__ if orig is not None else type(exc).__name__


async def commit(session: AsyncSession) -> None:
    pending = len(session.new) + len(session.dirty)
    try:
        await session.commit()
    except DBAPIError as exc:
        await session.rollback()
        raise CommitFailed(_reason(exc), pending) from exc


def commit_sync(session: Session) -> None:
    pending = len(session.new) + len(session.dirty)
    try:
        session.commit()
    except DBAPIError as exc:
        session.rollback()
        raise CommitFailed(_reason(exc), pending) from exc
