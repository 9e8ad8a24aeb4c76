import pytest
from scenario_db import DATABASE_URL
from sqlalchemy.ext.asyncio import create_async_engine

pytest_plugins = ["tables"]


@pytest.fixture(scope="session")
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="session")
def engine():
    """One pooled engine for the whole run: creating it needs no event loop."""
    return create_async_engine(DATABASE_URL)
