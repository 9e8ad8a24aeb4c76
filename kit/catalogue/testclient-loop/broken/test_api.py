def test_count_users(client):
    response = client.get("/users/count")
    assert response.json() == {"count": 2}


def test_create_user(client):
    response = client.post("/users", params={"email": "carol@example.com"})
    assert response.status_code == 201
    assert client.get("/users/count").json() == {"count": 3}
