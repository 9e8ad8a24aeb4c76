import pytest
from app import app
from db import get_session  # noqa: F401 - what the routes depend on, shadowed below
from fastapi.testclient import TestClient


@pytest.fixture
def client(seeded):
    async def get_session():  # same name as db.get_session, but a different function
        yield seeded

    # Keyed by the local function, not the one the routes declare: silently never used.
    app.dependency_overrides[get_session] = get_session
    # TestClient runs the app on its own portal thread, with its own event loop.
    with TestClient(app) as client:
        yield client
    app.dependency_overrides.clear()
