import os

from fastapi import FastAPI
from redis.asyncio import Redis

# One client for the whole process, created when the module is imported. Its connection pool keeps
# connections open and hands them to the next command, on whichever event loop that command runs.
redis = Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)

app = FastAPI()


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.post("/pages/{page}/views")
async def add_view(page: str):
    return {"page": page, "views": await redis.incr(f"views:{page}")}


@app.get("/pages/{page}/views")
async def get_views(page: str):
    return {"page": page, "views": int(await redis.get(f"views:{page}") or 0)}
