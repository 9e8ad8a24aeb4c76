"""Engine and session factory, shared by the service and its tests."""

import os

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine(
    os.environ["DATABASE_URL"],
    pool_size=2,
)

make_session = async_sessionmaker(
    engine,
    class_=AsyncSession,  # the async flavour, spelled out
    autoflush=False
)  # one factory for the whole service
