import pytest

import inventory


@pytest.mark.asyncio
async def test_stock_of_apples():
    assert await inventory.stock("apples") == 6


@pytest.mark.asyncio
async def test_stock_of_pears():
    assert await inventory.stock("pears") == 5


@pytest.mark.asyncio
async def test_stock_of_figs():
    assert await inventory.stock("figs") == 4
