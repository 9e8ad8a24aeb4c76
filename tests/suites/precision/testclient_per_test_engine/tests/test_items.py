from fastapi.testclient import TestClient

from inventory.app import app


def test_count_answers():
    with TestClient(app) as client:
        assert client.get("/items/count").status_code == 200


def test_count_answers_again():
    with TestClient(app) as client:
        assert client.get("/items/count").json() == {"tables": 0}


def test_health_of_the_app():
    with TestClient(app) as client:
        assert client.get("/docs").status_code == 200
