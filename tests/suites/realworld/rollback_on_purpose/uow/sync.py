"""The synchronous side, for code handed a ``Session`` (directly, or through ``AsyncSession.run_sync`` /
``AsyncConnection.run_sync``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from uow.models import Sku


@dataclass
class ImportResult:
    imported: int = 0
    rejected: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected


def import_skus(session: Session, rows: Iterable[tuple[str, str]]) -> ImportResult:
    """All or nothing: every row is written, or (a code already taken, a duplicate in the batch) the whole
    transaction is rolled back and the offending codes reported."""
    result = ImportResult()
    rows = list(rows)
    session.add_all(Sku(code=code, description=description) for code, description in rows)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        codes = [code for code, _ in rows]
        taken = set(session.scalars(select(Sku.code).where(Sku.code.in_(codes))))
        result.rejected = sorted({c for c in codes if c in taken or codes.count(c) > 1})
        return result
    result.imported = len(rows)
    return result
