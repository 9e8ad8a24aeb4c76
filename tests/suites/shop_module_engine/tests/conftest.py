import os

import pytest
import pytest_asyncio
from app.db import SessionLocal, get_session
from app.main import app
from app.models import Base
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import create_async_engine


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def schema():
    engine = create_async_engine(os.environ["DATABASE_URL"])
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()


async def session_for_tests():
    # "A session per request, like production" - from the app's own module-level engine.
    async with SessionLocal() as session:
        yield session


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest_asyncio.fixture
async def client():
    app.dependency_overrides[get_session] = session_for_tests
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://shop.test") as client:
        yield client
    app.dependency_overrides.clear()
