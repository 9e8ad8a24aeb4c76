import pytest
from httpx import ASGITransport, AsyncClient
from redis.asyncio import Redis

from throttle.api import app
from throttle.redis_pool import get_redis, make_pool


@pytest.fixture
async def redis_pool():
    """A pool per test, made and disconnected on that test's loop (ASGITransport does not run the lifespan)."""
    pool = make_pool()
    yield pool
    async with Redis(connection_pool=pool) as redis:
        await redis.flushdb()
    await pool.disconnect()


@pytest.fixture
async def client(redis_pool):
    async def redis_for_tests():
        async with Redis(connection_pool=redis_pool) as redis:
            yield redis

    app.dependency_overrides[get_redis] = redis_for_tests
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://throttle") as ac:
        yield ac
    app.dependency_overrides.clear()
