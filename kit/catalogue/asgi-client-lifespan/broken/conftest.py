import pytest_asyncio
from app import app
from httpx import ASGITransport, AsyncClient


@pytest_asyncio.fixture
async def client():
    # ASGITransport only sends HTTP requests: the app's lifespan never starts.
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        yield client
