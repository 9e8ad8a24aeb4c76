import accounts


async def test_open_account():
    opened = await accounts.open_account("ada")
    assert opened["owner"] == "ada" and opened["id"] > 0


async def test_deposit():
    opened = await accounts.open_account("bob")
    assert await accounts.deposit(opened["id"], 50) == 50


async def test_nothing_to_commit():
    assert accounts.__name__ == "accounts"
