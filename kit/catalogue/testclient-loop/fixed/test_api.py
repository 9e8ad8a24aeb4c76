import pytest


@pytest.mark.asyncio
async def test_count_users(client):
    response = await client.get("/users/count")
    assert response.json() == {"count": 2}


@pytest.mark.asyncio
async def test_create_user(client):
    response = await client.post("/users", params={"email": "carol@example.com"})
    assert response.status_code == 201
    assert (await client.get("/users/count")).json() == {"count": 3}
