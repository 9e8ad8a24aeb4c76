"""One engine for the process. NullPool: a connection per checkout, closed on return, so the engine does not
care which event loop (or how many, one after the other) uses it."""

import os

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

engine = create_async_engine(os.environ["DATABASE_URL"], poolclass=NullPool)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_session():
    async with SessionLocal() as session:
        yield session
