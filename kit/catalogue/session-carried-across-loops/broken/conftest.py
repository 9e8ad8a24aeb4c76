import pytest
from app.db import SessionLocal

pytest_plugins = ["tables"]


@pytest.fixture(scope="session")
def db_session():
    """One session for the whole run, so tests share their data without committing."""
    session = SessionLocal()
    yield session
