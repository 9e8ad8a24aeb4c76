from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from inventory.db import Session, engine


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with engine.connect() as conn:  # fail fast when the database is unreachable
        await conn.execute(text("select 1"))
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/items/count")
async def count_items() -> dict:
    async with Session() as session:
        total = await session.scalar(text("select count(*) from pg_catalog.pg_class where relname = 'items'"))
    return {"tables": total}
