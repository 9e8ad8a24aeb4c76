from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bookmarks.models import Bookmark


class DuplicateBookmark(Exception):
    pass


def normalise_tags(tags: Sequence[str]) -> str:
    return ",".join(sorted({t.strip().lower() for t in tags if t.strip()}))


async def add(session: AsyncSession, owner: str, url: str, title: str = "", tags: Sequence[str] = ()) -> Bookmark:
    bookmark = Bookmark(owner=owner, url=url, title=title, tags=normalise_tags(tags))
    session.add(bookmark)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise DuplicateBookmark(url) from None
    return bookmark


async def for_owner(session: AsyncSession, owner: str, tag: str | None = None) -> list[Bookmark]:
    query = select(Bookmark).where(Bookmark.owner == owner).order_by(Bookmark.id)
    if tag:
        query = query.where(Bookmark.tags.contains(tag.lower()))
    return list(await session.scalars(query))
