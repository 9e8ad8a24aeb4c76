import pytest
from scenario_db import DATABASE_URL
from sqlalchemy.ext.asyncio import create_async_engine

pytest_plugins = ["tables"]


@pytest.fixture(scope="session")
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="session")
async def engine():
    """One pooled engine for the whole run, made and disposed on one event loop: an async generator fixture
    holds AnyIO's test runner (and so its loop) from its setup to its teardown."""
    engine = create_async_engine(DATABASE_URL)
    yield engine
    await engine.dispose()
