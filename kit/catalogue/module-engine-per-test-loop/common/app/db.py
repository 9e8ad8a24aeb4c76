"""The application's database module: one engine, created when the module is imported."""

from scenario_db import DATABASE_URL
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

# A pooled engine: connections returned to the pool are kept and handed to the next caller,
# on whichever event loop that caller runs.
engine = create_async_engine(DATABASE_URL)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
