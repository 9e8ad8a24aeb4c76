import pytest
from app import app
from fastapi.testclient import TestClient


@pytest.fixture
def client():
    # Entering the TestClient runs the app's lifespan startup; leaving it runs the shutdown.
    with TestClient(app) as client:
        yield client
