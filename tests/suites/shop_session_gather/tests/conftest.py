import os

import pytest_asyncio
from inventory.models import Base, StockItem
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine


@pytest_asyncio.fixture(scope="session")
async def sessionmaker():
    engine = create_async_engine(os.environ["DATABASE_URL"])
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest_asyncio.fixture(autouse=True)
async def stock(sessionmaker):
    async with sessionmaker() as session:
        await session.execute(delete(StockItem))
        session.add_all([StockItem(sku="MUG", warehouse="north", on_hand=5),
                         StockItem(sku="TEE", warehouse="north", on_hand=2),
                         StockItem(sku="CAP", warehouse="south", on_hand=0)])
        await session.commit()
