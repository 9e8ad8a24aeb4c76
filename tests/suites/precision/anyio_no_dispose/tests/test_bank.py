import pytest

from ledger import bank

pytestmark = pytest.mark.anyio


class TestAccounts:
    async def test_new_account_starts_empty(self):
        account = await bank.open_account("ada")
        assert await bank.balance(account) == 0

    async def test_opening_deposit_is_kept(self):
        account = await bank.open_account("brian", cents=1_500)
        assert await bank.balance(account) == 1_500


class TestTransfers:
    async def test_transfer_moves_money(self):
        ada = await bank.open_account("ada", cents=1_000)
        bob = await bank.open_account("bob")
        await bank.transfer(ada, bob, 250)
        assert (await bank.balance(ada), await bank.balance(bob)) == (750, 250)

    async def test_overdraft_is_refused_and_not_recorded(self):
        ada = await bank.open_account("ada", cents=100)
        bob = await bank.open_account("bob")
        with pytest.raises(bank.InsufficientFunds):
            await bank.transfer(ada, bob, 101)
        assert await bank.transfer_count() == 0
