from shortener.main import make_slug


def test_slug_is_stable_and_short():
    assert make_slug("https://example.org") == make_slug("https://example.org")
    assert len(make_slug("https://example.org")) == 7


async def test_shorten_and_follow(client):
    slug = (await client.post("/links", json={"url": "https://www.postgresql.org/docs/"})).json()["slug"]
    response = await client.get(f"/{slug}")
    assert response.status_code == 307 and response.headers["location"] == "https://www.postgresql.org/docs/"


async def test_shortening_twice_gives_the_same_slug(client):
    first = await client.post("/links", json={"url": "https://pypi.org/project/SQLAlchemy/"})
    second = await client.post("/links", json={"url": "https://pypi.org/project/SQLAlchemy/"})
    assert first.json() == second.json()


async def test_hits_are_counted(client):
    slug = (await client.post("/links", json={"url": "https://asyncpg.readthedocs.io"})).json()["slug"]
    for _ in range(3):
        await client.get(f"/{slug}")
    assert (await client.get(f"/links/{slug}/stats")).json() == {"target": "https://asyncpg.readthedocs.io",
                                                                 "hits": 3}


async def test_unknown_slug_is_404(client):
    assert (await client.get("/nope123")).status_code == 404


async def test_only_http_urls(client):
    assert (await client.post("/links", json={"url": "javascript:alert(1)"})).status_code == 422
