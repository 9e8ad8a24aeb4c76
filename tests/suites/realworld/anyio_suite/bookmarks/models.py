from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Bookmark(Base):
    __tablename__ = "bookmark"
    __table_args__ = (UniqueConstraint("owner", "url", name="bookmark_owner_url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(String(300), default="")
    tags: Mapped[str] = mapped_column(String(500), default="")  # comma separated, lower case

    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]
