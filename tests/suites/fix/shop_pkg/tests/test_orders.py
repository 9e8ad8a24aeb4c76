from shop import api


async def test_place_order():
    product = await api.add_product("teapot", 1800)
    await api.place_order(product, 2)
    assert await api.ordered_quantity(product) == 2


async def test_no_orders_yet():
    product = await api.add_product("mug", 400)
    assert await api.ordered_quantity(product) == 0
