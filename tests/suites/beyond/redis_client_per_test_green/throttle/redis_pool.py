import os
from collections.abc import AsyncIterator

from fastapi import Request
from redis.asyncio import ConnectionPool, Redis


def make_pool() -> ConnectionPool:
    return ConnectionPool.from_url(os.environ["REDIS_URL"], decode_responses=True, max_connections=10)


async def get_redis(request: Request) -> AsyncIterator[Redis]:
    """A client on the pool the app's lifespan opened (on the loop that serves the app)."""
    client = Redis(connection_pool=request.app.state.redis_pool)
    try:
        yield client
    finally:
        await client.aclose()
