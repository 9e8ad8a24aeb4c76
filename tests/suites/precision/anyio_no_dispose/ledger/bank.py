"""Core-style (no ORM) money movements: every call is its own transaction."""

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger.db import engine
from ledger.tables import accounts, transfers


class InsufficientFunds(Exception):
    pass


async def open_account(owner: str, cents: int = 0) -> int:
    async with engine.begin() as conn:
        return await conn.scalar(insert(accounts).values(owner=owner, cents=cents).returning(accounts.c.id))


async def balance(account_id: int) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(select(accounts.c.cents).where(accounts.c.id == account_id))


async def transfer(source: int, target: int, cents: int) -> None:
    try:
        async with engine.begin() as conn:
            await conn.execute(update(accounts).where(accounts.c.id == source)
                               .values(cents=accounts.c.cents - cents))
            await conn.execute(update(accounts).where(accounts.c.id == target)
                               .values(cents=accounts.c.cents + cents))
            await conn.execute(insert(transfers).values(source=source, target=target, cents=cents))
    except IntegrityError as exc:
        raise InsufficientFunds(source) from exc


async def transfer_count() -> int:
    async with engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(transfers))
