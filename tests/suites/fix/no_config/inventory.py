import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine(os.environ["DATABASE_URL"])


async def stock(item: str) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text("select length(:item)"), {"item": item})
