"""The engine. We pin psycopg 3 (not asyncpg): whatever driver DATABASE_URL names, connect with psycopg."""

import os

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

DATABASE_URL = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg")

engine = create_async_engine(DATABASE_URL, pool_size=5, pool_pre_ping=True)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass
