"""A small lending library: members borrow copies of books."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Model(DeclarativeBase):
    pass


class Member(Model):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    card: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class Copy(Model):
    __tablename__ = "copies"

    id: Mapped[int] = mapped_column(primary_key=True)
    isbn: Mapped[str] = mapped_column(String(17), index=True)
    title: Mapped[str] = mapped_column(String(300))


class Loan(Model):
    __tablename__ = "loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    copy_id: Mapped[int] = mapped_column(ForeignKey("copies.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    lent_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    returned_at: Mapped[dt.datetime | None]
