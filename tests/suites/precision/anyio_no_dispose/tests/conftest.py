import pytest
from sqlalchemy import text

from ledger.db import engine
from ledger.tables import metadata


@pytest.fixture(scope="session")
def anyio_backend():
    # "Session scope so every test shares one event loop" - the comment the suite was written with.
    return "asyncio"


@pytest.fixture(autouse=True)
async def clean_ledger(anyio_backend):
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(text("TRUNCATE transfers, accounts RESTART IDENTITY CASCADE"))
    yield
