from forecasts import advice


async def test_rain_in_london_means_umbrella():
    assert await advice.needs_umbrella("EGLL") is True


async def test_no_umbrella_in_madrid():
    assert await advice.needs_umbrella("LEMD") is False


async def test_warmest_hour_in_madrid():
    assert await advice.warmest_hour("LEMD") == 8


async def test_unknown_station_is_reported():
    assert await advice.station_known("ZZZZ") is False
