from inventory.stock import on_hand, restock_all, stock_report


async def test_single_lookup(sessionmaker):
    async with sessionmaker() as session:
        assert await on_hand(session, "MUG") == 5


async def test_report_for_warm_session(sessionmaker):
    async with sessionmaker() as session:
        assert await on_hand(session, "CAP") == 0  # the session now holds a connection
        assert await stock_report(session, ["MUG", "TEE"]) == {"MUG": 5, "TEE": 2}


async def test_restock_all(sessionmaker):
    async with sessionmaker() as session:
        await restock_all(session, {"MUG": 1, "TEE": 3, "CAP": 10})
    async with sessionmaker() as session:
        assert await on_hand(session, "CAP") == 10


async def test_receive_shipment(sessionmaker):
    from inventory.stock import receive_shipment

    async with sessionmaker() as session:
        await receive_shipment(session, "east", {"SOCK": 12, "HAT": 4, "BAG": 1})
    async with sessionmaker() as session:
        assert await stock_report(session, ["SOCK"]) == {"SOCK": 12}
