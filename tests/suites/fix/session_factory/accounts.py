"""The service: open an account, deposit, read the balance."""

from db.models import Account
from db.session import make_session


async def open_account(owner: str) -> dict:
    async with make_session() as session:
        account = Account(owner=owner, balance=0)
        session.add(account)
        await session.commit()
        return {"id": account.id, "owner": account.owner}


async def deposit(account_id: int, amount: int) -> int:
    async with make_session() as session:
        account = await session.get(Account, account_id)
        account.balance += amount
        await session.commit()
        return account.balance
