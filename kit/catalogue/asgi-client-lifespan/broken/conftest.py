import pytest_asyncio
from httpx import ASGITransport, AsyncClient

from app import app


@pytest_asyncio.fixture
async def client():
    # ASGITransport only sends HTTP requests: the app's lifespan never starts.
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        yield client
