from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

M = TypeVar("M", bound=DeclarativeBase)


@dataclass
class Page(Generic[M]):
    items: list[M]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class ModelAdmin(Generic[M]):
    """List, search and paginate one model: ``ModelAdmin(User, search=("name", "email"), ordering="name")``."""

    def __init__(self, model: type[M], *, search: Sequence[str] = (), ordering: str = "id", per_page: int = 20):
        self.model, self.search_fields, self.ordering, self.per_page = model, tuple(search), ordering, per_page

    def _filter(self, query: str | None) -> ColumnElement[bool] | None:
        if not query or not self.search_fields:
            return None
        return or_(*(getattr(self.model, f).ilike(f"%{query}%") for f in self.search_fields))

    async def page(self, session: AsyncSession, page: int = 1, query: str | None = None) -> Page[M]:
        if page < 1:
            raise ValueError("pages start at 1")
        condition = self._filter(query)
        listing = select(self.model).order_by(getattr(self.model, self.ordering))
        counting = select(func.count()).select_from(self.model)
        if condition is not None:
            listing, counting = listing.where(condition), counting.where(condition)
        total = await session.scalar(counting) or 0
        items = await session.scalars(listing.limit(self.per_page).offset((page - 1) * self.per_page))
        return Page(list(items), total, page, self.per_page)

    async def update(self, session: AsyncSession, pk: Any, **values: Any) -> M:
        obj = await session.get(self.model, pk)
        if obj is None:
            raise LookupError(f"{self.model.__name__} {pk} not found")
        for name, value in values.items():
            setattr(obj, name, value)
        await session.commit()
        return obj
