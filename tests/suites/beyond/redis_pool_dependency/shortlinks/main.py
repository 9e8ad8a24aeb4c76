import secrets
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, HttpUrl
from redis.asyncio import Redis

from shortlinks.cache import get_cache
from shortlinks.settings import settings

app = FastAPI(title="shortlinks")
Cache = Annotated[Redis, Depends(get_cache)]


class NewLink(BaseModel):
    target: HttpUrl
    slug: str | None = None


@app.post("/links", status_code=201)
async def shorten(body: NewLink, cache: Cache) -> dict:
    slug = body.slug or secrets.token_urlsafe(5)
    if not await cache.set(f"link:{slug}", str(body.target), ex=settings.LINK_TTL_SECONDS, nx=True):
        raise HTTPException(409, f"slug {slug!r} is taken")
    return {"slug": slug, "target": str(body.target)}


@app.get("/{slug}")
async def follow(slug: str, cache: Cache) -> RedirectResponse:
    target = await cache.get(f"link:{slug}")
    if target is None:
        raise HTTPException(404, "no such link")
    await cache.incr(f"hits:{slug}")
    return RedirectResponse(target, status_code=307)


@app.get("/links/{slug}/stats")
async def stats(slug: str, cache: Cache) -> dict:
    return {"slug": slug, "hits": int(await cache.get(f"hits:{slug}") or 0)}
