import pytest_asyncio
from app.db import SessionLocal

pytest_plugins = ["tables"]


@pytest_asyncio.fixture
async def db_session():
    """A session per test, opened and closed on the test's own event loop."""
    async with SessionLocal() as session:
        yield session
