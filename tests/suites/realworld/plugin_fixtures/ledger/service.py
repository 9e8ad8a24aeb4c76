from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.models import Account, Posting


class InsufficientFunds(Exception):
    def __init__(self, code: str, available: int, wanted: int) -> None:
        super().__init__(f"account {code}: {available} available, {wanted} wanted")
        self.code, self.available, self.wanted = code, available, wanted


async def open_account(session: AsyncSession, code: str, name: str, *, overdraft_limit: int = 0,
                       opening_balance: int = 0) -> Account:
    account = Account(code=code, name=name, overdraft_limit=overdraft_limit)
    session.add(account)
    await session.flush()
    if opening_balance:
        session.add(Posting(account_id=account.id, amount=opening_balance, memo="opening balance"))
    await session.commit()
    return account


async def balance(session: AsyncSession, code: str) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(Posting.amount), 0)).join(Account).where(Account.code == code))
    return int(total or 0)


async def transfer(session: AsyncSession, source: str, target: str, amount: int, memo: str = "") -> None:
    """Move ``amount`` cents; all or nothing."""
    if amount <= 0:
        raise ValueError("amount must be positive")
    accounts = {a.code: a for a in await session.scalars(
        select(Account).where(Account.code.in_([source, target])).with_for_update())}
    available = await balance(session, source) + accounts[source].overdraft_limit
    if available < amount:
        await session.rollback()
        raise InsufficientFunds(source, available, amount)
    session.add_all([Posting(account_id=accounts[source].id, amount=-amount, memo=memo),
                     Posting(account_id=accounts[target].id, amount=amount, memo=memo)])
    await session.commit()
