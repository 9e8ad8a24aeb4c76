def test_create_user(client):
    response = client.post("/users", params={"email": "alice@example.com"})
    assert response.status_code == 201


def test_count_users(client):
    client.post("/users", params={"email": "bob@example.com"})
    assert client.get("/users/count").json()["count"] >= 1


def test_health(client):
    assert client.get("/users/count").status_code == 200
