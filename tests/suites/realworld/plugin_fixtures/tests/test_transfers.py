import pytest
import pytest_asyncio
from ledger import InsufficientFunds, balance, open_account, transfer

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def two_accounts(ledger_session):
    await open_account(ledger_session, "1100", "Bank", opening_balance=100_00)
    await open_account(ledger_session, "4000", "Sales", overdraft_limit=0)
    return ledger_session


@pytest.mark.usefixtures("two_accounts")
async def test_transfer_moves_money(ledger_session):
    await transfer(ledger_session, "1100", "4000", 40_00, memo="invoice 17")
    assert (await balance(ledger_session, "1100"), await balance(ledger_session, "4000")) == (60_00, 40_00)


@pytest.mark.usefixtures("two_accounts")
async def test_insufficient_funds_leaves_balances_alone(ledger_session):
    with pytest.raises(InsufficientFunds) as caught:
        await transfer(ledger_session, "4000", "1100", 1_00)
    assert caught.value.available == 0
    assert await balance(ledger_session, "1100") == 100_00


async def test_amount_must_be_positive(ledger_session):
    with pytest.raises(ValueError):
        await transfer(ledger_session, "1100", "4000", 0)
