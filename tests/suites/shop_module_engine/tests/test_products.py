async def test_create_product(client):
    response = await client.post("/products", json={"sku": "MUG-1", "name": "Mug", "price": 8.5, "stock": 10})
    assert response.status_code == 201


async def test_get_product(client):
    response = await client.get("/products/MUG-1")
    assert response.status_code == 200
    assert response.json()["stock"] == 10


async def test_missing_product_is_404(client):
    response = await client.get("/products/NOPE")
    assert response.status_code == 404
