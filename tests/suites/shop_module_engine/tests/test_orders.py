async def test_place_order(client):
    await client.post("/products", json={"sku": "TEE-1", "name": "Tee", "price": 15, "stock": 3})
    response = await client.post("/orders", json={"customer": "ada", "items": {"TEE-1": 2}})
    assert response.status_code == 201
    assert response.json()["lines"] == 1


async def test_out_of_stock(client):
    response = await client.post("/orders", json={"customer": "bob", "items": {"TEE-1": 5}})
    assert response.status_code == 409
