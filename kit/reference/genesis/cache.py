"""Redis: the offers cache and the coaching rate limit.

The real dependency imports ``redis.asyncio`` lazily, inside the function, so the package is only needed
where the app really talks to Redis; the test suites always replace ``get_redis`` with an in-memory fake.
Anything with ``get``, ``set(key, value, ex=)``, ``delete``, ``incr`` and ``expire`` coroutines will do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from kit.reference.genesis.settings import get_settings

__all__ = ["get_redis", "offers_key", "rate_limit_key"]


async def get_redis() -> AsyncIterator[Any]:
    import redis.asyncio as redis  # lazy: not a dependency of the reference app's tests

    client = redis.from_url(get_settings().redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


def offers_key(business_id: int) -> str:
    return f"genesis:offers:{business_id}"


def rate_limit_key(user_id: int) -> str:
    return f"genesis:coaching-rate:{user_id}"
