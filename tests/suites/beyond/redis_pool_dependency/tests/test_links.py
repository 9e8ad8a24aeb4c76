async def test_shorten_returns_the_slug(api):
    response = await api.post("/links", json={"target": "https://example.org/docs", "slug": "docs"})
    assert response.status_code == 201
    assert response.json() == {"slug": "docs", "target": "https://example.org/docs"}


async def test_following_a_link_redirects(api):
    await api.post("/links", json={"target": "https://example.org/blog", "slug": "blog"})
    response = await api.get("/blog")
    assert response.status_code == 307
    assert response.headers["location"] == "https://example.org/blog"


async def test_hits_are_counted(api):
    await api.post("/links", json={"target": "https://example.org/faq", "slug": "faq"})
    for _ in range(3):
        await api.get("/faq")
    assert (await api.get("/links/faq/stats")).json() == {"slug": "faq", "hits": 3}


async def test_taken_slug_is_refused(api):
    await api.post("/links", json={"target": "https://example.org/a", "slug": "same"})
    response = await api.post("/links", json={"target": "https://example.org/b", "slug": "same"})
    assert response.status_code == 409
