"""The application factory."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from kit.reference.genesis import cache, db
from kit.reference.genesis.routers import auth, business, coaching


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield
    # on the serving loop, where the pools' connections were opened
    await db.engine.dispose()
    await cache.client.aclose()


def create_app() -> FastAPI:
    app = FastAPI(title="genesis", lifespan=lifespan)
    app.include_router(auth.router)
    app.include_router(business.router)
    app.include_router(coaching.router)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    return app
