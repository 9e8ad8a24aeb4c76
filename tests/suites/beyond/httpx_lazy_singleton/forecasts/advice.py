from forecasts.upstream import UpstreamError, get_met_client

RAIN_THRESHOLD = 0.4


async def needs_umbrella(station: str, hours: int = 6) -> bool:
    upcoming = (await get_met_client().hourly(station))[:hours]
    return any(hour["rain_probability"] >= RAIN_THRESHOLD for hour in upcoming)


async def warmest_hour(station: str) -> int:
    upcoming = await get_met_client().hourly(station)
    return max(upcoming, key=lambda hour: hour["temp_c"])["hour"]


async def station_known(station: str) -> bool:
    try:
        await get_met_client().hourly(station)
    except UpstreamError:
        return False
    return True
