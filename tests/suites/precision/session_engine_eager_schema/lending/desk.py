"""The circulation desk: the only place that changes loans."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.models import Copy, Loan, Member


class AlreadyLent(Exception):
    """The copy is out; it has to come back first."""


@dataclass
class Desk:
    session: AsyncSession

    async def enrol(self, card: str, name: str) -> Member:
        member = Member(card=card, name=name)
        self.session.add(member)
        await self.session.flush()
        return member

    async def shelve(self, isbn: str, title: str) -> Copy:
        copy = Copy(isbn=isbn, title=title)
        self.session.add(copy)
        await self.session.flush()
        return copy

    async def lend(self, copy: Copy, member: Member) -> Loan:
        open_loan = await self.session.scalar(
            select(Loan).where(Loan.copy_id == copy.id, Loan.returned_at.is_(None)))
        if open_loan is not None:
            raise AlreadyLent(copy.isbn)
        loan = Loan(copy_id=copy.id, member_id=member.id)
        self.session.add(loan)
        await self.session.flush()
        return loan

    async def give_back(self, loan: Loan) -> None:
        loan.returned_at = func.now()
        await self.session.flush()

    async def on_loan(self, member: Member) -> int:
        return await self.session.scalar(
            select(func.count()).select_from(Loan).where(Loan.member_id == member.id, Loan.returned_at.is_(None)))
