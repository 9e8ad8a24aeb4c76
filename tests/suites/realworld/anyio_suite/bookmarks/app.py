from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bookmarks import repository


class BookmarkIn(BaseModel):
    url: str
    title: str = ""
    tags: list[str] = []


def create_app(database_url: str | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if database_url:  # tests may hand the app a sessionmaker of their own instead
            engine = create_async_engine(database_url)
            app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        yield
        if database_url:
            await engine.dispose()

    app = FastAPI(title="bookmarks", lifespan=lifespan)

    async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
        async with request.app.state.sessionmaker() as session:
            yield session

    Session = Annotated[AsyncSession, Depends(get_session)]

    @app.post("/users/{owner}/bookmarks", status_code=201)
    async def add_bookmark(owner: str, body: BookmarkIn, session: Session) -> dict:
        try:
            bookmark = await repository.add(session, owner, body.url, body.title, body.tags)
        except repository.DuplicateBookmark:
            raise HTTPException(409, "already bookmarked") from None
        return {"id": bookmark.id, "tags": bookmark.tag_list()}

    @app.get("/users/{owner}/bookmarks")
    async def list_bookmarks(owner: str, session: Session, tag: str | None = None) -> list[dict]:
        return [{"url": b.url, "title": b.title, "tags": b.tag_list()}
                for b in await repository.for_owner(session, owner, tag)]

    return app
