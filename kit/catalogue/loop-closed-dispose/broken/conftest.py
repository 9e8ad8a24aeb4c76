import asyncio

import pytest
from app.db import engine
from scenario_db import DATABASE_URL, Base
from sqlalchemy.ext.asyncio import create_async_engine


async def create_tables():
    setup_engine = create_async_engine(DATABASE_URL)
    async with setup_engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await setup_engine.dispose()


# A sync fixture driving async code with asyncio.run(): each call runs on a brand-new loop.
@pytest.fixture(scope="session", autouse=True)
def database():
    asyncio.run(create_tables())
    yield
    # The app's connections were opened on pytest-asyncio's session loop, closed by now.
    asyncio.run(engine.dispose())
