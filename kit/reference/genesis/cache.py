"""Redis: the offers cache and the coaching rate limit, wired the ordinary way: one module-level client.

Like the engine in ``db.py``, the client is created at import time and connects lazily; its connection pool
keeps connections, each opened on the event loop of the command that needed it. In the app that is one loop
(uvicorn's) and all is well; the lifespan closes the client on it at shutdown. A test suite whose tests each
run on their own loop and reach this client meets the loop problem again (stage ``real-deps``); the earlier
stages replace ``get_redis`` with an in-memory fake, so this client never connects there. ``get_redis``
hands out anything with ``get``, ``set(key, value, ex=)``, ``delete``, ``incr`` and ``expire`` coroutines.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as redis

from kit.reference.genesis.settings import get_settings

__all__ = ["client", "get_redis", "offers_key", "rate_limit_key"]

client = redis.from_url(get_settings().redis_url, decode_responses=True)


async def get_redis() -> AsyncIterator[Any]:
    """FastAPI dependency: the app's one client (closed by the lifespan, not per request)."""
    yield client


def offers_key(business_id: int) -> str:
    return f"genesis:offers:{business_id}"


def rate_limit_key(user_id: int) -> str:
    return f"genesis:coaching-rate:{user_id}"
