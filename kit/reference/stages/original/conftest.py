"""The team's original conftest: how the suite was wired when it failed.

One pooled engine and one session factory at module level, shared by every test; the schema made by a
session-scoped async fixture; a legacy session-scoped ``event_loop`` fixture meant to put everything on
one loop; every request of the app served by the test's ``db_session``; autouse table cleaning; the
Orchestrator and Redis mocked; data fixtures for users, tokens, businesses and coaching sessions.
"""

import asyncio
import json
import os

import httpx
import pytest
import pytest_asyncio
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from kit.reference.genesis import Orchestrator, create_app, get_orchestrator, get_redis, get_session
from kit.reference.genesis.models import Base, Business, CoachingSession, Goal, Offer, User
from kit.reference.genesis.security import create_token, hash_password

TEST_DATABASE_URL = os.environ["DATABASE_URL"]

# One engine (pooled, the default) and one session factory for the whole run.
engine = create_async_engine(TEST_DATABASE_URL, echo=False)
TestingSessionLocal = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

app = create_app()


@pytest.fixture(scope="session")
def event_loop():
    """One event loop for the whole test session."""
    loop = asyncio.get_event_loop_policy().new_event_loop()
    yield loop
    loop.close()


# --- database ---------------------------------------------------------------------------------------

@pytest_asyncio.fixture(scope="session", autouse=True)
async def setup_database():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    yield
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
    await engine.dispose()


@pytest_asyncio.fixture
async def db_session():
    async with TestingSessionLocal() as session:
        yield session
        await session.rollback()


@pytest_asyncio.fixture(autouse=True)
async def clean_tables(db_session):
    for table in reversed(Base.metadata.sorted_tables):
        await db_session.execute(table.delete())
    await db_session.commit()


# --- external services: the Orchestrator (HTTP) and Redis -------------------------------------------

class FakeOrchestrator:
    """Answers the Orchestrator's HTTP API through ``httpx.MockTransport``; records what was asked."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status_code = 200

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.status_code != 200:
            return httpx.Response(self.status_code, json={"error": "unavailable"})
        body = json.loads(request.content)
        self.requests.append(body)
        steps = [f"{body['topic']}: {goal}" for goal in body["goals"]]
        return httpx.Response(200, json={"plan_id": f"plan-{len(self.requests)}", "steps": steps})


class FakeRedis:
    """The few Redis commands the app uses, in memory."""

    def __init__(self):
        self.store: dict = {}

    async def get(self, key):
        return self.store.get(key)

    async def set(self, key, value, ex=None):
        self.store[key] = value

    async def delete(self, *keys):
        return sum(self.store.pop(key, None) is not None for key in keys)

    async def incr(self, key):
        self.store[key] = int(self.store.get(key, 0)) + 1
        return self.store[key]

    async def expire(self, key, seconds):
        return key in self.store


@pytest.fixture(autouse=True)
def mock_orchestrator():
    fake = FakeOrchestrator()

    async def override_get_orchestrator():
        transport = httpx.MockTransport(fake.handle)
        async with httpx.AsyncClient(transport=transport, base_url="http://orchestrator.test") as http:
            yield Orchestrator(http)

    app.dependency_overrides[get_orchestrator] = override_get_orchestrator
    yield fake
    app.dependency_overrides.pop(get_orchestrator, None)


@pytest.fixture(autouse=True)
def mock_redis():
    fake = FakeRedis()

    async def override_get_redis():
        yield fake

    app.dependency_overrides[get_redis] = override_get_redis
    yield fake
    app.dependency_overrides.pop(get_redis, None)


# --- the client: the app's requests served by the test's session -------------------------------------

@pytest_asyncio.fixture
async def client(db_session):
    async def override_get_session():
        yield db_session

    app.dependency_overrides[get_session] = override_get_session
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as ac:
        yield ac
    app.dependency_overrides.pop(get_session, None)


# --- data fixtures ----------------------------------------------------------------------------------

@pytest_asyncio.fixture
async def user(db_session):
    row = User(email="alice@genesis.test", full_name="Alice",
               hashed_password=hash_password("alice-password-1", iterations=1000))
    db_session.add(row)
    await db_session.commit()
    return {"id": row.id, "email": row.email, "password": "alice-password-1", "full_name": row.full_name}


@pytest_asyncio.fixture
async def token(client, user):
    response = await client.post("/auth/login", json={"email": user["email"], "password": user["password"]})
    return response.json()["access_token"]


@pytest_asyncio.fixture
async def auth_headers(token):
    return {"Authorization": f"Bearer {token}"}


@pytest_asyncio.fixture
async def other_auth_headers(db_session):
    row = User(email="bob@genesis.test", full_name="Bob",
               hashed_password=hash_password("bob-password-1", iterations=1000))
    db_session.add(row)
    await db_session.commit()
    return {"Authorization": f"Bearer {create_token(row.id)}"}


@pytest_asyncio.fixture
async def business(db_session, user):
    row = Business(owner_id=user["id"], name="Bakery", description="Bread and cakes",
                   offers=[Offer(title="Sourdough", price_cents=450)])
    db_session.add(row)
    await db_session.commit()
    return {"id": row.id, "name": row.name}


@pytest_asyncio.fixture
async def coaching_session(db_session, user):
    row = CoachingSession(user_id=user["id"], topic="Growth", plan={"plan_id": "seed", "steps": []},
                          goals=[Goal(description="Find a mentor"), Goal(description="Write a plan")])
    db_session.add(row)
    await db_session.commit()
    return {"id": row.id, "topic": row.topic}
