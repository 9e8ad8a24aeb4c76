from shop import api


async def test_add_product():
    assert await api.add_product("kettle", 2500) > 0


async def test_names_are_sorted():
    await api.add_product("apron", 900)
    names = await api.product_names()
    assert names == sorted(names) and "apron" in names
