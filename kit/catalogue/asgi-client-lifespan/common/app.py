from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from scenario_db import DATABASE_URL, Base, User
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine


@asynccontextmanager
async def lifespan(app: FastAPI):
    # Runs only when the server sends the ASGI "lifespan" startup/shutdown events.
    engine = create_async_engine(DATABASE_URL)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


async def get_session(request: Request):
    async with request.app.state.sessionmaker() as session:
        yield session


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.post("/users", status_code=201)
async def create_user(email: str, session: AsyncSession = Depends(get_session)):
    user = User(email=email)
    session.add(user)
    await session.commit()
    return {"id": user.id, "email": user.email}


@app.get("/users/count")
async def count_users(session: AsyncSession = Depends(get_session)):
    return {"count": await session.scalar(select(func.count()).select_from(User))}
