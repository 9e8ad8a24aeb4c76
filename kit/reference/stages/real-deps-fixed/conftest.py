"""Step 4.5, the real Redis repaired: a client per test, created and closed on the test's own loop.

Step 4.4's suite, with the app's ``get_redis`` overridden again, no longer by a mock but by ``redis_client``:
a real ``redis.asyncio`` client made on the test's loop and closed on that loop when the test ends, so no
pooled connection is handed to the next test's loop (the repair step 4.1 made for the engine). The app's
module-level client stays in the app, where one loop (uvicorn's) uses it and the lifespan closes it.
"""

import asyncio
import json
import os
from collections.abc import MutableMapping

import httpx
import pytest
import pytest_asyncio
import redis
import redis.asyncio
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from kit.reference.genesis import Orchestrator, create_app, get_orchestrator, get_redis, get_session
from kit.reference.genesis.models import Base, Business, CoachingSession, Goal, Offer, User
from kit.reference.genesis.security import create_token, hash_password

TEST_DATABASE_URL = os.environ["DATABASE_URL"]
TEST_REDIS_URL = os.environ["REDIS_URL"]


# --- database: every engine, connection and session on the loop of the test that uses it ------------

@pytest.fixture(scope="session", autouse=True)
def setup_database():
    """The tables, once per run, on a loop of their own (``asyncio.run``) that no connection outlives."""

    async def create_schema():
        engine = create_async_engine(TEST_DATABASE_URL, poolclass=NullPool)
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
        await engine.dispose()

    asyncio.run(create_schema())


@pytest_asyncio.fixture
async def db_engine():
    # Created on this test's loop, so its pool only ever holds connections opened on this loop; disposed
    # on this same loop when the test ends, so no connection can be handed to the next test's loop.
    # (poolclass=NullPool would do as well, at the price of a new connection for every session.)
    engine = create_async_engine(TEST_DATABASE_URL)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield engine
    await engine.dispose()  # on the same loop that opened the connections


@pytest_asyncio.fixture
async def db_sessionmaker(db_engine):
    return async_sessionmaker(db_engine, class_=AsyncSession, expire_on_commit=False)


@pytest_asyncio.fixture
async def db_session(db_sessionmaker):
    async with db_sessionmaker() as session:
        yield session


# --- external services: the Orchestrator (HTTP), still mocked; Redis, the real one -------------------

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


class RedisStore(MutableMapping):
    """The real Redis seen as the mock's ``store`` dict, through a synchronous redis-py client: it owns no
    event loop, so reading the cache from a test cannot itself meet the loop problem this stage is about."""

    def __init__(self, client: redis.Redis):
        self._client = client

    def __getitem__(self, key):
        value = self._client.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key, value):
        self._client.set(key, value)

    def __delitem__(self, key):
        if not self._client.delete(key):
            raise KeyError(key)

    def __iter__(self):
        return iter(self._client.scan_iter())

    def __len__(self):
        return self._client.dbsize()


class RealRedis:
    """What the tests call ``mock_redis``: no mock any more, the real Redis the app talks to."""

    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url, decode_responses=True)
        self.store = RedisStore(self.client)


@pytest.fixture
def mock_orchestrator():
    return FakeOrchestrator()


@pytest.fixture
def mock_redis():
    real = RealRedis(TEST_REDIS_URL)
    real.client.flushdb()  # each test starts with an empty cache, as it did with a fresh FakeRedis
    yield real
    real.client.close()


@pytest_asyncio.fixture
async def redis_client(mock_redis):  # after mock_redis: the cache is emptied before the app's first command
    # Created on this test's loop, so its pool only ever holds connections opened on this loop; closed on
    # this same loop when the test ends, so no connection can be handed to the next test's loop.
    client = redis.asyncio.from_url(TEST_REDIS_URL, decode_responses=True)
    yield client
    await client.aclose()  # on the same loop that opened the connections


# --- the client: a fresh app, its real get_session overridden with a session per request -------------

@pytest_asyncio.fixture
async def client(db_sessionmaker, mock_orchestrator, redis_client):
    app = create_app()  # a fresh app per test: overrides cannot leak from one test to the next

    async def override_get_session():
        async with db_sessionmaker() as session:  # a session per request, on the test's engine
            yield session

    async def override_get_orchestrator():
        transport = httpx.MockTransport(mock_orchestrator.handle)
        async with httpx.AsyncClient(transport=transport, base_url="http://orchestrator.test") as http:
            yield Orchestrator(http)

    async def override_get_redis():
        yield redis_client  # the test's own client, on the test's loop

    # keyed by the app's own dependency functions, so the overrides are really used
    app.dependency_overrides[get_session] = override_get_session
    app.dependency_overrides[get_orchestrator] = override_get_orchestrator
    app.dependency_overrides[get_redis] = override_get_redis
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as ac:
        yield ac


# --- users and tokens: each fixture does one thing ---------------------------------------------------

async def _make_user(session, email, password, full_name):
    row = User(email=email, full_name=full_name, hashed_password=hash_password(password, iterations=1000))
    session.add(row)
    await session.commit()
    return {"id": row.id, "email": email, "password": password, "full_name": full_name}


@pytest_asyncio.fixture
async def user(db_session):
    return await _make_user(db_session, "alice@genesis.test", "alice-password-1", "Alice")


@pytest.fixture
def token(user):
    return create_token(user["id"])


@pytest.fixture
def auth_headers(token):
    return {"Authorization": f"Bearer {token}"}


@pytest_asyncio.fixture
async def other_auth_headers(db_session):
    other = await _make_user(db_session, "bob@genesis.test", "bob-password-1", "Bob")
    return {"Authorization": f"Bearer {create_token(other['id'])}"}


# --- business and coaching data ---------------------------------------------------------------------

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
