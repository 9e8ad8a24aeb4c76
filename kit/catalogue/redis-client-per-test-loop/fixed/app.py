import os
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from redis.asyncio import Redis


@asynccontextmanager
async def lifespan(app: FastAPI):
    # The client (and its connection pool) lives on the loop that runs the app, and is closed on that loop.
    app.state.redis = Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    yield
    await app.state.redis.aclose()


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.post("/pages/{page}/views")
async def add_view(page: str, request: Request):
    return {"page": page, "views": await request.app.state.redis.incr(f"views:{page}")}


@app.get("/pages/{page}/views")
async def get_views(page: str, request: Request):
    return {"page": page, "views": int(await request.app.state.redis.get(f"views:{page}") or 0)}
