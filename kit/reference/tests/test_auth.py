"""Auth: registration, login, the current user.

Fixtures (from the stage's conftest.py): ``client`` (httpx.AsyncClient on the app), ``db_session``,
``user`` (a registered user: dict with id, email, password), ``token`` and ``auth_headers``.
"""

from sqlalchemy import select

from kit.reference.genesis.models import User


async def test_register_user(client, db_session):
    response = await client.post(
        "/auth/register",
        json={"email": "Newcomer@Genesis.test", "password": "correct-horse-42", "full_name": "New Comer"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "newcomer@genesis.test"
    assert "password" not in body and "hashed_password" not in body

    stored = await db_session.scalar(select(User).where(User.email == "newcomer@genesis.test"))
    assert stored is not None and stored.id == body["id"]
    assert stored.hashed_password.startswith("pbkdf2_sha256$")
    assert "correct-horse-42" not in stored.hashed_password


async def test_register_duplicate_email_refused(client, user):
    response = await client.post("/auth/register", json={"email": user["email"], "password": "another-pass-1"})
    assert response.status_code == 409, response.text
    assert response.json()["detail"] == "Email already registered"


async def test_register_rejects_invalid_email(client):
    response = await client.post("/auth/register", json={"email": "not-an-email", "password": "long-enough-1"})
    assert response.status_code == 422


async def test_login_returns_bearer_token(client, user):
    response = await client.post("/auth/login", json={"email": user["email"], "password": user["password"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"].count(".") == 1


async def test_login_bad_password_refused(client, user):
    response = await client.post("/auth/login", json={"email": user["email"], "password": "wrong-password"})
    assert response.status_code == 401
    assert response.json()["detail"] == "Incorrect email or password"


async def test_login_unknown_email_refused(client):
    response = await client.post("/auth/login", json={"email": "nobody@genesis.test", "password": "whatever-1"})
    assert response.status_code == 401


async def test_me_with_token(client, user, auth_headers):
    response = await client.get("/auth/me", headers=auth_headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": user["id"], "email": user["email"], "full_name": user["full_name"]}


async def test_me_without_token(client):
    response = await client.get("/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_me_with_forged_token(client, token):
    body, _signature = token.split(".")
    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {body}.forged"})
    assert response.status_code == 401
