from settings_store.health import ping


async def test_missing_key_gives_default(settings):
    assert await settings.get("theme", "light") == "light"


async def test_put_then_get(settings):
    await settings.put("theme", "dark")
    assert await settings.get("theme") == "dark"


async def test_put_overwrites(settings):
    await settings.put("page_size", "20")
    await settings.put("page_size", "50")
    assert await settings.get("page_size") == "50"


async def test_flags_default_off(settings):
    await settings.put("flag.beta", "on")
    assert await settings.flag("beta") and not await settings.flag("gamma")


async def test_database_answers_ping(engine):
    assert await ping(engine)
