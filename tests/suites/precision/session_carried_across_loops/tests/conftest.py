import os

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

engine = create_async_engine(os.environ["DATABASE_URL"], poolclass=NullPool)


@pytest.fixture(scope="session")
def db():
    """One session for the whole run, as many tutorials write it: cheap, and wrong across loops."""
    session = AsyncSession(engine, expire_on_commit=False)
    yield session
