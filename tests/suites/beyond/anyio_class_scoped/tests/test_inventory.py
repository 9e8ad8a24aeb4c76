import pytest

from warehouse import inventory
from warehouse.db import create_schema

pytestmark = pytest.mark.anyio


class TestReceiving:
    @pytest.fixture(scope="class", autouse=True)
    async def bolts(self, anyio_backend):
        await create_schema()
        await inventory.register("BOLT-M6", "Hex bolt M6", on_hand=100)
        yield "BOLT-M6"
        await inventory.forget("BOLT-M6")

    async def test_receiving_adds_to_stock(self, bolts):
        assert await inventory.receive(bolts, 50) == 150

    async def test_stock_is_read_back(self, bolts):
        assert await inventory.on_hand(bolts) == 150


class TestShipping:
    @pytest.fixture(scope="class", autouse=True)
    async def washers(self, anyio_backend):
        await create_schema()
        await inventory.register("WSH-8", "Flat washer 8 mm", on_hand=10)
        yield "WSH-8"
        await inventory.forget("WSH-8")

    async def test_shipping_takes_from_stock(self, washers):
        assert await inventory.ship(washers, 4) == 6

    async def test_cannot_ship_more_than_on_hand(self, washers):
        with pytest.raises(inventory.OutOfStock):
            await inventory.ship(washers, 7)
        assert await inventory.on_hand(washers) == 6
