"""Shared by every catalogue entry: the database URL kit gives the run, and a tiny model.

kit runs each entry in its own scratch database and passes its URL in ``DATABASE_URL``.
"""

import os

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DATABASE_URL = os.environ["DATABASE_URL"]


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
