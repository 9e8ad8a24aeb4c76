import pytest


@pytest.mark.asyncio
async def test_health(client):
    response = await client.get("/health")
    assert response.json() == {"status": "ok"}


@pytest.mark.asyncio
async def test_create_user(client):
    response = await client.post("/users", params={"email": "ada@example.com"})
    assert response.status_code == 201


@pytest.mark.asyncio
async def test_count_users(client):
    await client.post("/users", params={"email": "bob@example.com"})
    response = await client.get("/users/count")
    assert response.json()["count"] >= 1
