"""The process-wide engine, built when the module is imported (as the web app does)."""

import os

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=3, max_overflow=2)
new_session = async_sessionmaker(engine, expire_on_commit=False)
