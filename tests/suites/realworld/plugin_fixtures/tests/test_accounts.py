import pytest
from ledger import Account, balance, open_account
from sqlalchemy import func, select

pytestmark = pytest.mark.asyncio


async def test_open_account_with_opening_balance(ledger_session):
    await open_account(ledger_session, "1000", "Cash", opening_balance=25_00)
    assert await balance(ledger_session, "1000") == 25_00


async def test_each_test_starts_from_an_empty_ledger(ledger_session):
    # the account opened (and committed) by the previous test was only ever in a savepoint
    assert await ledger_session.scalar(select(func.count()).select_from(Account)) == 0


async def test_duplicate_code_is_rejected_and_session_recovers(ledger_session):
    from sqlalchemy.exc import IntegrityError

    await open_account(ledger_session, "2000", "Payables")
    with pytest.raises(IntegrityError):
        await open_account(ledger_session, "2000", "Payables again")
    await ledger_session.rollback()  # ends the failed savepoint only
    assert await ledger_session.scalar(select(func.count()).select_from(Account)) == 1
