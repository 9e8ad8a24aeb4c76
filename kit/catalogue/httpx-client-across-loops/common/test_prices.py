async def test_health(client):
    response = await client.get("/health")
    assert response.json() == {"status": "ok"}


async def test_price_in_euros(client):
    response = await client.get("/prices/EUR", params={"amount": 100})
    assert response.json() == {"currency": "EUR", "usd": 108.0}


async def test_price_in_pounds(client):
    response = await client.get("/prices/GBP", params={"amount": 10})
    assert response.json()["usd"] == 12.7


async def test_price_in_yen(client):
    response = await client.get("/prices/JPY", params={"amount": 1000})
    assert response.json()["usd"] == 6.7


async def test_unknown_currency(client):
    response = await client.get("/prices/XYZ", params={"amount": 1})
    assert response.status_code == 404
