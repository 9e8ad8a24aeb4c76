"""Feature flags and settings in one key/value table, written with Core and raw SQL."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

DDL = "CREATE TABLE IF NOT EXISTS settings (key text PRIMARY KEY, value text NOT NULL)"


class Settings:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def put(self, key: str, value: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text("INSERT INTO settings (key, value) VALUES (:k, :v) "
                                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"), {"k": key, "v": value})

    async def get(self, key: str, default: str | None = None) -> str | None:
        async with self.engine.connect() as conn:
            value = await conn.scalar(text("SELECT value FROM settings WHERE key = :k"), {"k": key})
        return default if value is None else value

    async def flag(self, name: str) -> bool:
        return (await self.get(f"flag.{name}", "off")) == "on"
