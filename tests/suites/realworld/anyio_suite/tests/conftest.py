import os

import pytest


@pytest.fixture(scope="session")
def anyio_backend():
    # asyncpg is asyncio-only; a session-scoped backend lets module-scoped async fixtures use it too.
    return "asyncio"


@pytest.fixture(scope="session")
def database_url() -> str:
    return os.environ["DATABASE_URL"]
