from contextlib import asynccontextmanager

from db import engine
from fastapi import FastAPI
from routes import router
from scenario_db import Base


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    # Close the pooled connections on the loop that opened them, before that loop goes away.
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
app.include_router(router)
