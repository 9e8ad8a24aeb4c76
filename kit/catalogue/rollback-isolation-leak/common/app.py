from scenario_db import User
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


async def register(session: AsyncSession, email: str) -> User | None:
    """Application code: commits on success, rolls back and returns None on a duplicate email."""
    user = User(email=email)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return None
    return user
