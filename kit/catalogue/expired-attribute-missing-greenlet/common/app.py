from scenario_db import User
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


async def register(session: AsyncSession, email: str) -> dict:
    """What a request handler does: save, commit, then build the response from the object."""
    user = User(email=email)
    session.add(user)
    await session.commit()
    return {"id": user.id, "email": user.email}


async def find_user(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email))
