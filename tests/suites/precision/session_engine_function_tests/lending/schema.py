"""Schema management, shared by the deploy script and the tests: a short-lived engine of its own."""

from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from lending.models import Model


async def recreate(url: str) -> None:
    migrator = create_async_engine(url, poolclass=NullPool)
    try:
        async with migrator.begin() as conn:
            await conn.run_sync(Model.metadata.drop_all)
            await conn.run_sync(Model.metadata.create_all)
    finally:
        await migrator.dispose()
