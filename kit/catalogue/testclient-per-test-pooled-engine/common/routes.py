from db import get_session
from fastapi import APIRouter, Depends
from scenario_db import User
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

router = APIRouter()


@router.post("/users", status_code=201)
async def create_user(email: str, session: AsyncSession = Depends(get_session)):
    user = User(email=email)
    session.add(user)
    await session.commit()
    return {"id": user.id, "email": user.email}


@router.get("/users/count")
async def count_users(session: AsyncSession = Depends(get_session)):
    return {"count": await session.scalar(select(func.count()).select_from(User))}
