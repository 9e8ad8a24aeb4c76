"""Businesses and offers. Offer lists are cached in Redis (``mock_redis`` in tests).

Fixtures (from the stage's conftest.py): ``client``, ``auth_headers``, ``business`` (one business of the
``user``, with one offer), ``other_auth_headers`` (a second user), ``mock_redis`` (an in-memory Redis; from
stage ``real-deps`` on, the real Redis the app talks to, seen through the same ``store`` mapping).
"""

import json


async def test_create_business(client, auth_headers):
    response = await client.post(
        "/businesses", json={"name": "Bakery", "description": "Bread"}, headers=auth_headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Bakery"
    assert response.json()["offers"] == []


async def test_business_routes_require_auth(client):
    assert (await client.get("/businesses")).status_code == 401
    assert (await client.post("/businesses", json={"name": "X"})).status_code == 401


async def test_list_only_own_businesses(client, auth_headers, other_auth_headers, business):
    mine = await client.get("/businesses", headers=auth_headers)
    theirs = await client.get("/businesses", headers=other_auth_headers)
    assert [b["id"] for b in mine.json()] == [business["id"]]
    assert theirs.json() == []


async def test_other_users_business_is_not_found(client, other_auth_headers, business):
    response = await client.get(f"/businesses/{business['id']}", headers=other_auth_headers)
    assert response.status_code == 404


async def test_add_offer(client, auth_headers, business):
    response = await client.post(
        f"/businesses/{business['id']}/offers", json={"title": "Croissant", "price_cents": 180},
        headers=auth_headers,
    )
    assert response.status_code == 201, response.text
    detail = await client.get(f"/businesses/{business['id']}", headers=auth_headers)
    assert [o["title"] for o in detail.json()["offers"]] == ["Sourdough", "Croissant"]


async def test_offers_are_cached_in_redis(client, auth_headers, business, mock_redis):
    key = f"genesis:offers:{business['id']}"
    first = await client.get(f"/businesses/{business['id']}/offers", headers=auth_headers)
    assert first.status_code == 200, first.text
    assert json.loads(mock_redis.store[key]) == first.json()

    mock_redis.store[key] = json.dumps([{"id": 0, "title": "from cache", "price_cents": 1}])
    second = await client.get(f"/businesses/{business['id']}/offers", headers=auth_headers)
    assert second.json()[0]["title"] == "from cache"


async def test_new_offer_invalidates_cache(client, auth_headers, business, mock_redis):
    await client.get(f"/businesses/{business['id']}/offers", headers=auth_headers)
    assert f"genesis:offers:{business['id']}" in mock_redis.store
    await client.post(
        f"/businesses/{business['id']}/offers", json={"title": "Baguette", "price_cents": 120},
        headers=auth_headers,
    )
    assert f"genesis:offers:{business['id']}" not in mock_redis.store
    offers = await client.get(f"/businesses/{business['id']}/offers", headers=auth_headers)
    assert [o["title"] for o in offers.json()] == ["Sourdough", "Baguette"]
