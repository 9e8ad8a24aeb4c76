from __future__ import annotations

from contextlib import asynccontextmanager
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class UnitOfWork:
    """``async with UnitOfWork(factory) as uow: ...; await uow.commit()``: anything not committed when the block
    ends (normally or by an exception, including a failed commit) is rolled back."""

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = factory
        self.session: AsyncSession | None = None
        self.committed = False

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._factory()
        await self.session.begin()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self.session is not None
        try:
            if self.session.in_transaction():
                await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        assert self.session is not None
        await self.session.commit()
        self.committed = True

    @asynccontextmanager
    async def savepoint(self):
        """A nested transaction: an exception inside rolls back to the savepoint only, and propagates."""
        assert self.session is not None
        async with self.session.begin_nested():
            yield self.session
