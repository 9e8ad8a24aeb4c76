from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def ping(engine: AsyncEngine) -> bool:
    """Liveness probe. (It never closes its connection: the process used to exit right after.)"""
    conn = await engine.connect()
    return await conn.scalar(text("SELECT 1")) == 1
