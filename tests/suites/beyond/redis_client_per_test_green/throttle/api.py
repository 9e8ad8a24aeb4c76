from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel
from redis.asyncio import Redis

from throttle.redis_pool import get_redis, make_pool

MAX_ATTEMPTS = 3
WINDOW_SECONDS = 900


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.redis_pool = make_pool()
    yield
    await app.state.redis_pool.disconnect()


app = FastAPI(lifespan=lifespan)


class Attempt(BaseModel):
    username: str
    ok: bool


@app.post("/attempts")
async def record_attempt(attempt: Attempt, redis: Annotated[Redis, Depends(get_redis)]) -> dict:
    key = f"failures:{attempt.username}"
    if attempt.ok:
        await redis.delete(key)
        return {"locked": False, "failures": 0}
    async with redis.pipeline(transaction=True) as pipe:
        failures, _ = await pipe.incr(key).expire(key, WINDOW_SECONDS).execute()
    if failures > MAX_ATTEMPTS:
        raise HTTPException(423, "account temporarily locked")
    return {"locked": False, "failures": failures}


@app.get("/attempts/{username}")
async def failures(username: str, redis: Annotated[Redis, Depends(get_redis)]) -> dict:
    return {"failures": int(await redis.get(f"failures:{username}") or 0)}
