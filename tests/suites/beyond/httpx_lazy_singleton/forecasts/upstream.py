"""Client for the met-office style upstream API the service depends on."""

from __future__ import annotations

import functools
import os

import httpx


class UpstreamError(Exception):
    """The upstream answered, but not with a forecast."""


class MetClient:
    def __init__(self, base_url: str, *, timeout: float = 3.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            headers={"User-Agent": "forecasts/1.4"},
            limits=httpx.Limits(max_keepalive_connections=5),
        )

    async def hourly(self, station: str) -> list[dict]:
        response = await self._http.get(f"/v1/stations/{station}/hourly")
        if response.status_code == 404:
            raise UpstreamError(f"unknown station {station}")
        response.raise_for_status()
        return response.json()["hours"]

    async def aclose(self) -> None:
        await self._http.aclose()


@functools.lru_cache(maxsize=1)
def get_met_client() -> MetClient:
    """Created on first use and reused: one connection pool for the whole process."""
    return MetClient(os.environ["MET_API_URL"])
