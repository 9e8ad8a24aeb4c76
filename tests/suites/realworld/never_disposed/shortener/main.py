import hashlib
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import RedirectResponse
from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shortener.db import get_session
from shortener.models import Link

app = FastAPI(title="shortener")
Session = Annotated[AsyncSession, Depends(get_session)]


class ShortenIn(BaseModel):
    url: str


def make_slug(url: str, length: int = 7) -> str:
    return hashlib.blake2s(url.encode(), digest_size=8).hexdigest()[:length]


@app.post("/links", status_code=201)
async def shorten(body: ShortenIn, session: Session) -> dict:
    if not body.url.startswith(("http://", "https://")):
        raise HTTPException(422, "only http(s) URLs")
    slug = make_slug(body.url)
    if await session.scalar(select(Link).where(Link.slug == slug)) is None:
        session.add(Link(slug=slug, target=body.url))
        await session.commit()
    return {"slug": slug}


@app.get("/{slug}")
async def follow(slug: str, session: Session) -> RedirectResponse:
    target = await session.scalar(
        update(Link).where(Link.slug == slug).values(hits=Link.hits + 1).returning(Link.target))
    if target is None:
        raise HTTPException(404)
    await session.commit()
    return RedirectResponse(target, status_code=307)


@app.get("/links/{slug}/stats")
async def stats(slug: str, session: Session) -> dict:
    link = await session.scalar(select(Link).where(Link.slug == slug))
    if link is None:
        raise HTTPException(404)
    return {"target": link.target, "hits": link.hits}
