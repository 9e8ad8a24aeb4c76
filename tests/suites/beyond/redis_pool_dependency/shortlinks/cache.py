"""Redis access for the request handlers.

One connection pool per process (building a pool per request would open a socket per request); every request
gets a lightweight client on top of it.
"""

from collections.abc import AsyncIterator

from redis.asyncio import ConnectionPool, Redis

from shortlinks.settings import settings

POOL = ConnectionPool.from_url(settings.REDIS_URL, decode_responses=True, max_connections=20)


async def get_cache() -> AsyncIterator[Redis]:
    client = Redis(connection_pool=POOL)
    try:
        yield client
    finally:
        await client.aclose()  # the pool is not ours to close: it outlives the request
