import pytest_asyncio
from app import app
from db import get_session
from httpx import ASGITransport, AsyncClient


@pytest_asyncio.fixture
async def client(seeded):
    async def override_get_session():
        yield seeded

    # Keyed by the very function the routes declare in Depends().
    app.dependency_overrides[get_session] = override_get_session
    # ASGITransport runs the app on the test's own event loop.
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        yield client
    app.dependency_overrides.clear()
