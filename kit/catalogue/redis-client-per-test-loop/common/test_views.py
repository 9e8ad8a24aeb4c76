async def test_health(client):
    response = await client.get("/health")
    assert response.json() == {"status": "ok"}


async def test_first_view(client):
    response = await client.post("/pages/home/views")
    assert response.json()["views"] >= 1


async def test_second_view(client):
    response = await client.post("/pages/home/views")
    assert response.json()["views"] >= 1


async def test_read_views(client):
    await client.post("/pages/about/views")
    response = await client.get("/pages/about/views")
    assert response.json()["views"] >= 1


async def test_unknown_page_has_no_views(client):
    response = await client.get("/pages/nowhere/views")
    assert response.json() == {"page": "nowhere", "views": 0}
