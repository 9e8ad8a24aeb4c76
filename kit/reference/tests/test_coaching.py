"""Coaching sessions, planned by the external Orchestrator (``mock_orchestrator``), rate limited in Redis.

Fixtures (from the stage's conftest.py): ``client``, ``user``, ``auth_headers``, ``other_auth_headers``,
``coaching_session`` (one session of the ``user`` with two goals), ``mock_orchestrator``, ``mock_redis`` (from
stage ``real-deps`` on, the real Redis behind the mock's ``store`` mapping).
"""


async def test_create_session_is_planned_by_orchestrator(client, user, auth_headers, mock_orchestrator):
    response = await client.post(
        "/coaching/sessions", json={"topic": "Pricing", "goals": ["Know my costs", "Set prices"]},
        headers=auth_headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["plan"]["steps"] == ["Pricing: Know my costs", "Pricing: Set prices"]
    assert [g["description"] for g in body["goals"]] == ["Know my costs", "Set prices"]
    assert mock_orchestrator.requests == [
        {"user_id": user["id"], "topic": "Pricing", "goals": ["Know my costs", "Set prices"]}
    ]


async def test_orchestrator_failure_is_bad_gateway(client, auth_headers, mock_orchestrator):
    mock_orchestrator.status_code = 503
    response = await client.post("/coaching/sessions", json={"topic": "Hiring"}, headers=auth_headers)
    assert response.status_code == 502
    listing = await client.get("/coaching/sessions", headers=auth_headers)
    assert listing.json() == []


async def test_session_creation_is_rate_limited(client, user, auth_headers, mock_redis, mock_orchestrator):
    mock_redis.store[f"genesis:coaching-rate:{user['id']}"] = 5
    response = await client.post("/coaching/sessions", json={"topic": "Too many"}, headers=auth_headers)
    assert response.status_code == 429
    assert mock_orchestrator.requests == []


async def test_add_goal_and_mark_done(client, auth_headers, coaching_session):
    added = await client.post(
        f"/coaching/sessions/{coaching_session['id']}/goals", json={"description": "Ship it"},
        headers=auth_headers,
    )
    assert added.status_code == 201, added.text
    done = await client.patch(f"/coaching/goals/{added.json()['id']}", json={"done": True}, headers=auth_headers)
    assert done.json()["done"] is True
    detail = await client.get(f"/coaching/sessions/{coaching_session['id']}", headers=auth_headers)
    assert [(g["description"], g["done"]) for g in detail.json()["goals"]] == [
        ("Find a mentor", False), ("Write a plan", False), ("Ship it", True)
    ]


async def test_sessions_are_private(client, auth_headers, other_auth_headers, coaching_session):
    mine = await client.get("/coaching/sessions", headers=auth_headers)
    assert [s["id"] for s in mine.json()] == [coaching_session["id"]]
    theirs = await client.get(f"/coaching/sessions/{coaching_session['id']}", headers=other_auth_headers)
    assert theirs.status_code == 404


async def test_coaching_routes_require_auth(client):
    assert (await client.get("/coaching/sessions")).status_code == 401
