import asyncio

from scenario_db import User


async def register(session, email: str) -> None:
    session.add(User(email=email))
    await session.commit()


async def register_all(Session, emails: list[str]) -> None:
    async with Session() as session:
        # Every task uses the same AsyncSession: one connection, one transaction state.
        await asyncio.gather(*(register(session, email) for email in emails))
