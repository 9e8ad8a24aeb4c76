import os

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table
from sqlalchemy.ext.asyncio import create_async_engine

metadata = MetaData()

products = Table(
    "products", metadata,
    Column("sku", String(16), primary_key=True),
    Column("title", String(120), nullable=False),
)

stock = Table(
    "stock", metadata,
    Column("sku", ForeignKey("products.sku", ondelete="CASCADE"), primary_key=True),
    Column("on_hand", Integer, nullable=False),
)

engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=2, pool_recycle=1800)


async def create_schema() -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
