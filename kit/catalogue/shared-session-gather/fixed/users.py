import asyncio

from scenario_db import User


async def register(Session, email: str) -> None:
    async with Session() as session:  # a session (and connection) per task
        session.add(User(email=email))
        await session.commit()


async def register_all(Session, emails: list[str]) -> None:
    await asyncio.gather(*(register(Session, email) for email in emails))
