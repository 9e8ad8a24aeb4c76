"""The application's database module: an engine without a pool, created when the module is imported."""

from scenario_db import DATABASE_URL
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

# NullPool: every connection is closed when it is released, so no pooled connection can outlive a loop.
engine = create_async_engine(DATABASE_URL, poolclass=NullPool)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
